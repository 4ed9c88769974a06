"""Online/offline emails end to end: a real appliance on a real hub goes offline and comes
back; the members get the emails from the real SMTP server on loopback (fake clock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from actors.notifier import NotifierActor, NotifierBacklog
from mykerio.clock import FakeClock
from tests.api_client import ApiSession
from tests.conftest import api_session, hub_config_for
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from tests.web.test_appliances import paired
from web.hub import Hub


@pytest.fixture
async def hub(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> AsyncIterator[Hub]:
    """A hub whose notifier's timers run on the fake clock."""
    running = Hub(
        hub_config_for(tmp_path, smtp_server, sms_gateway),
        clock=clock,
        alert_schedule=clock.call_later,
    )
    await running.start()
    try:
        yield running
    finally:
        await running.stop(deadline=5)


async def backlog(hub: Hub, wanted: NotifierBacklog) -> None:
    """Wait until the notifier's backlog is `wanted` (it hears the bus asynchronously)."""
    assert hub.router is not None
    async with asyncio.timeout(10):
        while await hub.router.notifier().call(NotifierActor.backlog) != wanted:  # noqa: ASYNC110 - an actor's state, asked, not an event
            await asyncio.sleep(0.01)


async def move(hub: Hub, clock: FakeClock, seconds: int) -> None:
    """Move the fake clock on second by second, letting the notifier handle each step."""
    assert hub.router is not None
    for _ in range(seconds):
        clock.advance(1)
        await hub.router.notifier().call(NotifierActor.backlog)


async def test_an_appliance_offline_past_the_grace_mails_its_organization(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Ana sets a 1-minute grace; her appliance hangs up and stays away: after the grace and
    the window she gets "offline"; when it reconnects, "back online"."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    settings = await api.request(
        "PUT", f"/api/v1/organizations/{org_id}/notifications", {"grace_minutes": 1}
    )
    assert settings.status == 200, settings
    assert settings.json == {"grace_minutes": 1, "default_grace_minutes": 2, "batch_minutes": 2}
    refused = await api.request(
        "PUT", f"/api/v1/organizations/{org_id}/notifications", {"grace_minutes": 45}
    )
    assert refused.status == 400
    appliance, _ = await paired(hub, api, org_id)
    await appliance.status()
    await appliance.hang_up()
    await backlog(hub, NotifierBacklog(graces=1, queued=0, people=0))
    await move(hub, clock, 60)
    await backlog(hub, NotifierBacklog(graces=0, queued=1, people=1))
    await move(hub, clock, 120)
    offline = await smtp_server.find("ana@acme.example", "offline")
    assert offline["Subject"] == "Brno gateway is offline"
    await appliance.connect()
    await appliance.status()
    await backlog(hub, NotifierBacklog(graces=0, queued=1, people=1))
    await move(hub, clock, 120)
    await smtp_server.find("ana@acme.example", "Brno gateway is back online")
    await appliance.hang_up()


async def test_only_members_read_an_organizations_notification_settings(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Another organization's settings answer 404, read or written."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    eve = api_session(hub)
    await member(eve, smtp_server, "eve@evil.example", "Eve")
    path = f"/api/v1/organizations/{org_id}/notifications"
    assert (await eve.get(path)).status == 404
    assert (await eve.request("PUT", path, {"grace_minutes": 0})).status == 404
    assert (await api.get(path)).json["grace_minutes"] == 2
