"""Waiting (pairing) sockets over real websockets: pinged like linked ones, and a reconnecting
key gets its still-valid code back (docs/protocol.md, "Pairing a new appliance")."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import actors.connection
import web.appliance_socket
from mykerio.agent.endpoint import HubEndpoint, Timings
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.clock import FakeClock
from mykerio.protocol.envelope import decode
from tests.agent.conftest import FakeSleep
from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from tests.web.test_appliances import appliance_for
from web.hub import Hub

PING = 0.05
WAIT = 10.0


@pytest.fixture
def fast_pings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiting sockets are pinged every 50 ms instead of every 30 s."""
    monkeypatch.setattr(actors.connection, "WAITING_PING_SECONDS", PING)


async def test_a_waiting_socket_is_pinged_and_its_pongs_keep_it(hub: Hub, fast_pings: None) -> None:
    """An appliance waiting to be added gets `ping` on the ping interval; it answers `pong` and
    stays connected, showing its code."""
    appliance = appliance_for(hub)
    pairing = await appliance.connect()
    assert pairing.type == "pairing"
    assert appliance.socket is not None
    async with asyncio.timeout(WAIT):
        for _ in range(3):
            ping = decode(str(await appliance.socket.read_message()), sent_by="hub")
            assert ping.type == "ping"
            await appliance.send(ping.reply("pong", {}))
    assert appliance.socket.close_code is None
    appliance.close()


@pytest.mark.parametrize("protocol", [1, 2], ids=["v1", "v2"])
async def test_the_simulator_waits_past_its_silence_limit_without_re_pairing(
    hub: Hub, tmp_path: Path, fast_pings: None, monkeypatch: pytest.MonkeyPatch, protocol: int
) -> None:
    """The simulator, which drops a hub silent for its limit (here 0.3 s), keeps its pairing
    socket and its link for many times that limit because the hub pings it (JSON `ping` on
    version 1, WebSocket ping frames on version 2)."""
    pinged = 0
    enough = asyncio.Event()
    original = web.appliance_socket.ApplianceSocketHandler.ping_appliance

    def counting(self: Any) -> bool:
        nonlocal pinged
        pinged += 1
        if pinged * PING > 1.5:  # five silence limits
            enough.set()
        return original(self)

    monkeypatch.setattr(web.appliance_socket.ApplianceSocketHandler, "ping_appliance", counting)
    endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    sleep = FakeSleep()
    link = ApplianceLink(
        IdentityStore(tmp_path / "box"),
        Profile("control", "9.4.0", host_name="gw-brno", protocol=protocol),
        endpoint,
        sleep=sleep,
        timings=Timings(silence=0.3),
    )
    task = asyncio.create_task(link.run())
    try:
        first = await link.wait_for(lambda view: view.phase == "pairing", WAIT)
        async with asyncio.timeout(WAIT):
            await enough.wait()
        view = link.view
        assert (view.phase, view.add_link) == ("pairing", first.add_link)
        assert link.session is not None
        assert link.session.version == protocol
        assert sleep.delays == []  # never dropped, so never waited to reconnect
    finally:
        link.stop()
        async with asyncio.timeout(WAIT):
            await task


async def test_a_reconnecting_key_gets_its_still_valid_code_back(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """A key that reconnects within its code's 15 minutes is shown the same code with the same
    expiry, which still adds it; after the 15 minutes it gets a new code."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance = appliance_for(hub)
    first = await appliance.connect()
    await appliance.hang_up()
    clock.advance(10 * 60)
    again = await appliance.connect()
    assert again.type == "pairing"
    assert (again.body["code"], again.body["expires_at"]) == (
        first.body["code"],
        first.body["expires_at"],
    )
    await appliance.hang_up()
    clock.advance(5 * 60 + 1)  # the code's 15 minutes are over
    fresh = await appliance.connect()
    assert fresh.body["code"] != first.body["code"]
    stale = await api.post("/api/v1/appliances/pairing-preview", {"code": first.body["code"]})
    assert stale.status == 404
    await appliance.hang_up()
    clock.advance(60)
    kept = await appliance.connect()
    assert kept.body["code"] == fresh.body["code"]
    added = await api.post(
        f"/api/v1/organizations/{org_id}/appliances",
        {"code": kept.body["code"], "name": "Patient gateway"},
    )
    assert added.status == 201, added
    assert (await appliance.receive()).type == "welcome"
    appliance.close()
