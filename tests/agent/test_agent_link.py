"""Tests of mykerio/agent/link.py: knobs, rename, removal and enable/disable against a fake hub."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import DISABLED_TEXT, REMOVED_TEXT, ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.protocol.errors import CloseCode
from tests.agent.conftest import Appliance, FakeSleep, Start
from tests.agent.fake_hub import WAIT, Added, FakeHub, knobs_of


async def linked(fake_hub: FakeHub, appliance: Start) -> Appliance:
    """A simulated appliance the fake hub has welcomed, its first `status` already received."""
    device = appliance()
    fake_hub.add(device.store.public_key, Added("a1", "Brno gateway"))
    await fake_hub.next_message("status")
    await device.wait_phase("linked")
    return device


async def test_a_knob_flip_sends_status(fake_hub: FakeHub, appliance: Start) -> None:
    """Ticking a knob in the admin UI sends `status` with it on, and the knob persists."""
    device = await linked(fake_hub, appliance)
    response = await device.post("/api/knobs", {"low_memory": True, "licence_expired": True})
    assert response.code == 200
    assert json.loads(response.body)["knobs"]["low_memory"] is True
    status = await fake_hub.next_message("status")
    assert knobs_of(status)["low_memory"] is True
    assert knobs_of(status)["licence_expired"] is True
    assert knobs_of(status)["update_available"] is False
    assert IdentityStore(device.store.directory).state.knobs.low_memory


async def test_an_unchanged_knob_sends_nothing(fake_hub: FakeHub, appliance: Start) -> None:
    """Setting a knob to the value it has sends no `status`; the next real change does."""
    device = await linked(fake_hub, appliance)
    device.link.set_knobs({"low_memory": False})
    device.link.set_knobs({"update_available": True})
    status = await fake_hub.next_message("status")
    assert knobs_of(status)["update_available"] is True
    assert [m.type for m in fake_hub.connections[-1].received].count("status") == 2


async def test_knobs_flipped_while_pairing_go_out_with_the_welcome(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """Before it is added the appliance sends no `status`; the first one carries the knobs."""
    device = appliance()
    await device.wait_phase("pairing")
    device.link.set_knobs({"backup_line_active": True})
    fake_hub.add(device.store.public_key, Added("a1", "Office"))
    status = await fake_hub.next_message("status")
    assert knobs_of(status)["backup_line_active"] is True


async def test_rename_shows_the_new_name(fake_hub: FakeHub, appliance: Start) -> None:
    """`rename` from the hub changes the name in /api/state and in the state file."""
    device = await linked(fake_hub, appliance)
    fake_hub.send("rename", {"name": "Brno gateway (old)"})
    await device.wait_for(lambda view: view.state.name == "Brno gateway (old)")
    assert (await device.api_state())["name"] == "Brno gateway (old)"
    assert IdentityStore(device.store.directory).state.name == "Brno gateway (old)"


async def test_an_organization_rename_is_shown_and_stored(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """`organization` from the hub changes the organization in /api/state and the state file."""
    device = await linked(fake_hub, appliance)
    fake_hub.send("organization", {"name": "Acme Brno"})
    await device.wait_for(lambda view: view.state.organization == "Acme Brno")
    assert (await device.api_state())["organization"] == "Acme Brno"
    assert IdentityStore(device.store.directory).state.organization == "Acme Brno"


async def test_removal_in_the_hub_forgets_the_link_until_enabled_again(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """`remove`: "Removed from MyKerio", no reconnect; enabling again pairs with a new key."""
    device = await linked(fake_hub, appliance)
    old_key = device.store.public_key
    fake_hub.send("remove", {})
    assert (await fake_hub.next_close()).code == CloseCode.REMOVED
    view = await device.wait_phase("removed")
    assert view.status_text == REMOVED_TEXT
    state = await device.api_state()
    assert (state["enabled"], state["appliance_id"], state["connected"]) == (False, None, False)
    assert device.store.state.hub_key is None
    assert device.sleep.pending() == 0
    assert len(fake_hub.connections) == 1

    response = await device.post("/api/enable", {"enabled": True})
    assert response.code == 200
    await device.wait_phase("pairing")
    assert device.store.public_key != old_key
    assert fake_hub.connections[-1].public_key == device.store.public_key


async def test_remove_from_mykerio_on_the_appliance(fake_hub: FakeHub, appliance: Start) -> None:
    """The appliance's "Remove from MyKerio" sends `removed`; it then stays disconnected."""
    device = await linked(fake_hub, appliance)
    response = await device.post("/api/remove", {})
    assert response.code == 200
    assert json.loads(response.body)["status_text"] == REMOVED_TEXT
    await fake_hub.next_message("removed")
    assert (await fake_hub.next_close()).code == CloseCode.REMOVED
    await device.wait_phase("removed")
    assert device.store.state.removed
    assert device.store.state.appliance_id is None
    assert device.sleep.pending() == 0

    again = await device.post("/api/remove", {})
    assert again.code == 409
    assert json.loads(again.body)["error"]["code"] == "conflict"


async def test_a_revoked_key_is_not_retried(fake_hub: FakeHub, appliance: Start) -> None:
    """A key the hub revoked while the appliance was offline (4003) ends in "Removed"."""
    device = await linked(fake_hub, appliance)
    fake_hub.revoked.add(device.store.public_key)
    fake_hub.close(CloseCode.GOING_AWAY, "going_away")
    assert (await fake_hub.next_close()).code == CloseCode.GOING_AWAY
    await device.sleep.next_delay()
    assert (await fake_hub.next_close()).code == CloseCode.REVOKED_KEY
    view = await device.wait_phase("removed")
    assert view.status_text == REMOVED_TEXT
    assert not view.enabled
    assert device.sleep.pending() == 0


async def test_disable_closes_with_1000_and_enable_reconnects_without_pairing(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """Unticking "Enable communication" closes (1000) and stays off; ticking it reconnects."""
    device = await linked(fake_hub, appliance)
    response = await device.post("/api/enable", {"enabled": False})
    assert json.loads(response.body)["status_text"] == DISABLED_TEXT
    closed = await fake_hub.next_close()
    assert (closed.code, closed.by_hub) == (CloseCode.NORMAL, False)
    await device.wait_phase("disabled")
    assert device.sleep.pending() == 0
    assert not IdentityStore(device.store.directory).state.enabled

    await device.post("/api/enable", {"enabled": True})
    await fake_hub.next_message("status")
    view = await device.wait_phase("linked")
    assert view.state.appliance_id == "a1"
    assert fake_hub.connections[-1].public_key == fake_hub.connections[0].public_key
    assert device.sleep.delays == []  # the user's action connects at once
    assert "pairing" not in [m.type for m in fake_hub.connections[-1].received]


async def test_disabled_state_survives_a_restart(fake_hub: FakeHub, appliance: Start) -> None:
    """An appliance disabled before a restart stays disconnected after it."""
    device = await linked(fake_hub, appliance)
    device.link.set_enabled(False)
    await fake_hub.next_close()
    device.link.stop()
    await device.task
    again = appliance(state_dir=device.store.directory)
    view = await again.wait_phase("disabled")
    assert view.state.name == "Brno gateway"
    assert len(fake_hub.connections) == 1


async def test_a_fleet_takes_turns_at_the_handshake(fake_hub: FakeHub, tmp_path: Path) -> None:
    """Appliances sharing a handshake limit of one open their sockets one after another: each
    starts its `hello` only once the one before has its pairing code (a connect storm in one
    process then never misses the hub's 10 s handshake deadline)."""
    turns = asyncio.Semaphore(1)
    links = [
        ApplianceLink(
            IdentityStore(tmp_path / f"appliance-{index}"),
            Profile("control", "9.4.0", host_name=f"gw-{index}"),
            HubEndpoint.of(fake_hub.url, cafile=fake_hub.cafile),
            sleep=FakeSleep(),
            handshakes=turns,
        )
        for index in range(3)
    ]
    tasks = [asyncio.create_task(link.run()) for link in links]
    try:
        for link in links:
            await link.wait_for(lambda view: view.phase == "pairing", WAIT)
        kinds = []
        while not fake_hub.messages.empty():
            kinds.append(fake_hub.messages.get_nowait().type)
        assert [k for k in kinds if k in ("hello", "proof")] == ["hello", "proof"] * 3
        assert not turns.locked()  # every turn was given back once its handshake was done
    finally:
        for link in links:
            link.stop()
        async with asyncio.timeout(WAIT):
            await asyncio.gather(*tasks)
