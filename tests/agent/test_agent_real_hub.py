"""The simulator against the real hub on loopback: pairing, status colours, rename, removal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import REMOVED_TEXT, ApplianceLink, LinkView
from mykerio.agent.profile import Profile
from tests.agent.conftest import FakeSleep
from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.web.live_watch import LiveWatch
from tests.web.org_helpers import member
from web.hub import Hub

WAIT = 10.0


@pytest.fixture(params=[1, 2], ids=["v1", "v2"])
async def simulator(
    hub: Hub, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[ApplianceLink]:
    """A simulated Kerio Control linked to the running hub, trusting its certificate; one
    speaking protocol version 1, one version 2."""
    endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    profile = Profile("control", "9.4.0", host_name="gw-brno", protocol=request.param)
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


async def until(link: ApplianceLink, phase: str) -> LinkView:
    """The link's view once it reaches `phase`."""
    return await link.wait_for(lambda view: view.phase == phase, WAIT)


async def appliances_when(
    api: ApiSession, org_id: str, predicate: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The organization's appliance rows, once `predicate` holds for them.

    Subscribes to the member's live socket first, then reads the list, and reads it again after
    each pushed change: no polling, and no change can slip between the read and the wait.
    """
    async with LiveWatch(api, org_id) as live, asyncio.timeout(WAIT):
        while True:
            listed = (await api.get(f"/api/v1/organizations/{org_id}/appliances")).json
            rows: list[dict[str, Any]] = listed["appliances"]
            if predicate(rows):
                return rows
            await live.next(WAIT)


async def row(api: ApiSession, org_id: str, predicate: Callable[[dict[str, Any]], bool]) -> Any:
    """The organization's only appliance row, once `predicate` holds for it."""
    rows = await appliances_when(api, org_id, lambda rows: bool(rows) and predicate(rows[0]))
    return rows[0]


async def test_the_simulator_pairs_and_reports_to_the_real_hub(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, simulator: ApplianceLink
) -> None:
    """Add by the link's code → Ready; knobs colour the row; rename and removal reach it."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    view = await until(simulator, "pairing")
    assert view.add_link is not None
    code = parse_qs(urlparse(view.add_link).fragment)["code"][0]
    added = await api.post(
        f"/api/v1/organizations/{org_id}/appliances", {"code": code, "name": "Brno gateway"}
    )
    assert added.status == 201, added
    view = await until(simulator, "linked")
    assert simulator.session is not None
    assert simulator.session.version == simulator.view.profile.protocol
    assert (simulator.session.streams is not None) == (simulator.session.version == 2)
    assert view.status_text == "Ready. You can manage this Kerio Control in MyKerio"
    assert view.state.name == "Brno gateway"
    await row(api, org_id, lambda found: found["status"] == "green")

    simulator.set_knobs({"low_memory": True})
    yellow = await row(api, org_id, lambda found: found["status"] == "yellow")
    assert yellow["reasons"] == ["Low memory"]
    simulator.set_knobs({"low_memory": False, "licence_expired": True})
    await row(api, org_id, lambda found: found["status"] == "red")

    appliance_id = added.json["id"]
    path = f"/api/v1/organizations/{org_id}/appliances/{appliance_id}"
    renamed = await api.request("PATCH", path, {"name": "Brno (old)"})
    assert renamed.status == 200, renamed
    await simulator.wait_for(lambda view: view.state.name == "Brno (old)", WAIT)

    simulator.set_enabled(False)
    await row(api, org_id, lambda found: not found["connected"])
    simulator.set_enabled(True)
    await until(simulator, "linked")
    await row(api, org_id, lambda found: found["connected"])

    removed = await api.request("DELETE", path)
    assert removed.status in (200, 204), removed
    view = await until(simulator, "removed")
    assert view.status_text == REMOVED_TEXT


async def test_remove_from_mykerio_on_the_simulator_removes_it_from_the_hub(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, simulator: ApplianceLink
) -> None:
    """The simulator's "Remove from MyKerio" takes its row off the hub's list."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    view = await until(simulator, "pairing")
    assert view.add_link is not None
    code = parse_qs(urlparse(view.add_link).fragment)["code"][0]
    added = await api.post(
        f"/api/v1/organizations/{org_id}/appliances", {"code": code, "name": "X"}
    )
    assert added.status == 201, added
    await until(simulator, "linked")
    simulator.remove()
    await until(simulator, "removed")
    assert await appliances_when(api, org_id, lambda rows: not rows) == []


async def test_a_multi_server_is_refused_by_the_real_hub(hub: Hub, tmp_path: Path) -> None:
    """A Kerio Connect Multi-Server shows the hub's refusal and stays disconnected."""
    endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    profile = Profile("connect", "10.0.0", multi_server=True)
    sleep = FakeSleep()
    link = ApplianceLink(IdentityStore(tmp_path / "connect"), profile, endpoint, sleep=sleep)
    task = asyncio.create_task(link.run())
    try:
        view = await until(link, "refused")
        assert "Multi-Server" in view.status_text
        assert sleep.delays == []
    finally:
        link.stop()
        await task
