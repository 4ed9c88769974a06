"""Appliance notifications end to end (docs/protocol.md 9.10): the real simulator's knobs raise
and clear them on the real hub; members list, count and dismiss them; an error is emailed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.clock import FakeClock
from tests.agent.conftest import FakeSleep
from tests.agent.test_agent_real_hub import row, until
from tests.api_client import ApiSession
from tests.conftest import hub_config_for, running_hub
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.live_watch import LiveWatch
from tests.web.org_helpers import member
from web.hub import Hub

WAIT = 10.0


@pytest.fixture
async def hub(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> AsyncIterator[Hub]:
    """A hub that sends each person's notification email a moment after the first change."""
    config = hub_config_for(
        tmp_path, smtp_server, sms_gateway, **{"notifications.batch_seconds": 0.3}
    )
    async with running_hub(config, clock) as running:
        yield running


@pytest.fixture
async def simulator(hub: Hub, tmp_path: Path) -> AsyncIterator[ApplianceLink]:
    """A simulated Kerio Control speaking protocol version 2, trusting the hub."""
    endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    profile = Profile("control", "9.4.0", host_name="gw-brno", protocol=2)
    link = ApplianceLink(
        IdentityStore(tmp_path / "appliance"), profile, endpoint, sleep=FakeSleep()
    )
    task = asyncio.create_task(link.run())
    try:
        yield link
    finally:
        link.stop()
        async with asyncio.timeout(WAIT):
            await task


async def added(api: ApiSession, org_id: str, simulator: ApplianceLink) -> str:
    view = await until(simulator, "pairing")
    assert view.add_link is not None
    code = parse_qs(urlparse(view.add_link).fragment)["code"][0]
    result = await api.post(
        f"/api/v1/organizations/{org_id}/appliances", {"code": code, "name": "Brno gateway"}
    )
    assert result.status == 201, result
    await until(simulator, "linked")
    return str(result.json["id"])


async def notifications_when(
    api: ApiSession, org_id: str, predicate: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The organization's notifications once `predicate` holds (read again on each live
    change of the dashboard, the count being part of the appliance row)."""
    path = f"/api/v1/organizations/{org_id}/appliance-notifications"
    async with LiveWatch(api, org_id) as live, asyncio.timeout(WAIT):
        while True:
            found: list[dict[str, Any]] = (await api.get(path)).json["notifications"]
            if predicate(found):
                return found
            await live.next(WAIT)


async def test_knobs_raise_and_clear_notifications_listed_counted_and_dismissed(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, simulator: ApplianceLink
) -> None:
    """Low memory on: the row says 1 pending and the list has it with its type, severity and
    time; Ana dismisses it for herself; off: it is gone and the count is 0."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance_id = await added(api, org_id, simulator)
    simulator.set_knobs({"low_memory": True})
    await row(api, org_id, lambda found: found["pending"] == 1)
    [notice] = await notifications_when(api, org_id, lambda found: len(found) == 1)
    assert notice["appliance_id"] == appliance_id
    assert (notice["type"], notice["title"], notice["severity"]) == (
        "low_memory",
        "Low memory",
        "warning",
    )
    assert notice["text"].startswith("Low memory")
    assert notice["raised_at"]
    assert notice["dismissed"] is False
    path = f"/api/v1/organizations/{org_id}/appliance-notifications"
    dismissed = await api.post(f"{path}/{notice['id']}/dismiss")
    assert dismissed.status == 204, dismissed
    assert (await api.get(path)).json["notifications"][0]["dismissed"] is True
    assert (await api.post(f"{path}/{appliance_id}:nothing/dismiss")).status == 404
    simulator.set_knobs({"low_memory": False})
    await row(api, org_id, lambda found: found["pending"] == 0)
    assert (await api.get(path)).json["notifications"] == []


async def test_an_error_is_emailed_once_and_a_reconnect_does_not_repeat_it(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, simulator: ApplianceLink
) -> None:
    """An expired licence (an error) is emailed; the appliance reconnecting raises it again,
    which is not news; one that ended while it was away is gone after the reconnect."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    await added(api, org_id, simulator)
    simulator.set_knobs({"licence_expired": True, "update_available": True})
    mail = await smtp_server.find("ana@acme.example", "licence")
    assert mail["Subject"] == "Brno gateway: Expiration of licence (error)"
    await notifications_when(api, org_id, lambda found: len(found) == 2)
    simulator.set_enabled(False)
    await row(api, org_id, lambda found: not found["connected"])
    simulator.set_knobs({"update_available": False})  # ends while it is away
    simulator.set_enabled(True)
    await until(simulator, "linked")
    [left] = await notifications_when(
        api, org_id, lambda found: [n["type"] for n in found] == ["licence_expiry"]
    )
    assert left["severity"] == "error"
    await row(api, org_id, lambda found: found["connected"] and found["pending"] == 1)
    await asyncio.sleep(0.5)  # longer than the batching window: a repeat would have gone
    assert sum("licence" in str(m["Subject"]) for m in smtp_server.messages) == 1


async def test_my_status_lists_every_appliance_and_its_notifications(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, simulator: ApplianceLink
) -> None:
    """GET /api/v1/me/status: each organization with its appliances (status, pending) and
    their notifications, in the shape the OpenAPI document gives."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance_id = await added(api, org_id, simulator)
    simulator.set_knobs({"certificate_expiring": True})
    await notifications_when(api, org_id, lambda found: len(found) == 1)
    await row(api, org_id, lambda found: found["pending"] == 1)
    status = (await api.get("/api/v1/me/status")).json
    [org] = status["organizations"]
    assert org["id"] == org_id
    [appliance] = org["appliances"]
    assert (appliance["id"], appliance["status"], appliance["pending"]) == (
        appliance_id,
        "yellow",
        1,
    )
    [notice] = org["notifications"]
    assert (notice["type"], notice["severity"]) == ("certificate_expiry", "warning")
    document = (await api.get("/api/v1/openapi.json")).json
    assert "/api/v1/me/status" in document["paths"]
