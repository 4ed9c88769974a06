"""Tests of mykerio/agent/session.py: the appliance's handshake against a loopback fake hub."""

from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from mykerio.agent.endpoint import Timings
from mykerio.agent.identity import STATE_FILE
from mykerio.agent.profile import Profile
from mykerio.protocol.errors import CloseCode
from mykerio.protocol.identity import b64url, from_b64url, new_identity, verify_proof
from mykerio.protocol.link import BACKOFF_CAP
from mykerio.protocol.status import KNOB_NAMES
from tests.agent.conftest import Start
from tests.agent.fake_hub import MULTI_SERVER_MESSAGE, Added, FakeHub, knobs_of

READY = "Ready. You can manage this Kerio Control in MyKerio"


async def test_an_unknown_key_pairs_and_shows_the_add_link(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """A new appliance proves its key, gets `pairing` and shows the link in /api/state."""
    device = appliance()
    hello = await fake_hub.next_message("hello")
    assert hello.body["product"] == "control"
    assert hello.body["version"] == "9.4.0"
    assert hello.body["name"] == "gw-brno"
    # A version 2 simulator offers 1 as well: this v1 fake hub chooses 1, and it links.
    assert hello.body["versions"] == (1, 2)
    # (A Kerio Control offers backups, the notification relay, shared definitions and remote
    # administration too; every product notifications.)
    assert hello.body["features"] == {
        "diagnostics": (1,),
        "notifications": (1,),
        "backups": (1,),
        "relay": (1,),
        "definitions": (1,),
        "tunnel": (1,),
    }
    view = await device.wait_phase("pairing")
    connection = fake_hub.connections[-1]
    assert connection.public_key == device.store.public_key  # the fake hub verified the proof
    state = await device.api_state()
    assert state["link"].startswith("https://hub.example.com/appliances/add#code=")
    assert state["status_text"] == f"Not added yet: open {state['link']}"
    assert state["connected"] is True
    assert state["appliance_id"] is None
    assert view.add_link == state["link"]


async def test_the_proof_signs_both_nonces_and_the_key(fake_hub: FakeHub, appliance: Start) -> None:
    """`proof` answers the challenge with a signature the hub can verify with the sent key."""
    device = appliance()
    challenge_answer = await fake_hub.next_message("proof")
    connection = fake_hub.connections[-1]
    key = from_b64url(str(challenge_answer.body["public_key"]))
    signature = from_b64url(str(challenge_answer.body["signature"]))
    assert key == device.store.public_key
    assert verify_proof(key, signature, connection.hub_nonce, connection.appliance_nonce)
    assert challenge_answer.re is not None


async def test_adding_a_pairing_appliance_welcomes_it(fake_hub: FakeHub, appliance: Start) -> None:
    """When the user adds it, `welcome` arrives on the same socket: Ready, key pinned, status."""
    device = appliance()
    await device.wait_phase("pairing")
    fake_hub.add(device.store.public_key, Added("a1", "Brno gateway", "example.com"))
    status = await fake_hub.next_message("status")
    assert set(knobs_of(status)) == set(KNOB_NAMES)
    view = await device.wait_phase("linked")
    assert view.status_text == READY
    assert len(fake_hub.connections) == 1
    saved = json.loads((device.store.directory / STATE_FILE).read_text())
    assert saved["hub_key"] == b64url(fake_hub.public_key)
    assert (saved["appliance_id"], saved["name"], saved["organization"]) == (
        "a1",
        "Brno gateway",
        "example.com",
    )


async def test_a_known_key_is_welcomed_and_sends_its_status(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """An added appliance gets `welcome` right after `proof`, shows Ready and sends `status`."""
    device = appliance()
    fake_hub.add(device.store.public_key, Added("a2", "Office"))
    await fake_hub.next_message("status")
    state = await device.api_state()
    assert state["status_text"] == READY
    assert (state["name"], state["appliance_id"], state["connected"]) == ("Office", "a2", True)
    assert state["link"] is None


@pytest.mark.parametrize("forgery", ["impostor key", "bad signature"])
async def test_a_changed_hub_identity_is_refused_with_4004(
    fake_hub: FakeHub, appliance: Start, forgery: str
) -> None:
    """After pinning, a challenge from another key or with a bad signature closes with 4004."""
    device = appliance()
    fake_hub.add(device.store.public_key, Added("a3", "Office"))
    await device.wait_phase("linked")
    fake_hub.close(CloseCode.GOING_AWAY, "going_away")
    await device.sleep.next_delay()
    if forgery == "impostor key":
        fake_hub.signing_pem = new_identity()[0]
    else:
        fake_hub.sign_wrong_nonce = True
    error = await fake_hub.next_message("error")
    assert error.body["code"] == "forged_proof"
    closes = [await fake_hub.next_close(), await fake_hub.next_close()]
    assert closes[-1].code == CloseCode.FORGED_PROOF
    assert not closes[-1].by_hub
    assert "proof" not in [message.type for message in fake_hub.connections[-1].received]
    view = await device.wait_phase("waiting")
    assert "hub identity changed" in view.status_text
    assert device.store.state.hub_key == fake_hub.public_key  # still the pinned key
    assert await device.sleep.next_delay(release=False) <= 5.0


async def test_an_unpaired_appliance_checks_the_hub_signature_too(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """Before pinning, a challenge whose signature does not verify is refused as well (4004)."""
    fake_hub.sign_wrong_nonce = True
    device = appliance()
    error = await fake_hub.next_message("error")
    assert error.body["code"] == "forged_proof"
    assert (await fake_hub.next_close()).code == CloseCode.FORGED_PROOF
    view = await device.wait_phase("waiting")
    assert "signature does not verify" in view.status_text


async def test_a_multi_server_is_refused_and_stays_disconnected(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """A Connect Multi-Server shows the hub's refusal and does not reconnect (4005)."""
    device = appliance(profile=Profile("connect", "10.0.0", multi_server=True))
    hello = await fake_hub.next_message("hello")
    assert hello.body["multi_server"] is True
    assert (await fake_hub.next_close()).code == CloseCode.REFUSED
    view = await device.wait_phase("refused")
    assert view.status_text == f"Not connected to MyKerio: {MULTI_SERVER_MESSAGE}"
    assert view.notice == MULTI_SERVER_MESSAGE
    assert device.sleep.pending() == 0
    assert len(fake_hub.connections) == 1


async def test_a_message_out_of_place_is_a_protocol_error(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """A `rename` before the appliance is added gets `error unexpected_message`, close 4000."""
    device = appliance()
    await device.wait_phase("pairing")
    fake_hub.send("rename", {"name": "Too early"})
    error = await fake_hub.next_message("error")
    assert error.body["code"] == "unexpected_message"
    assert (await fake_hub.next_close()).code == CloseCode.PROTOCOL_ERROR
    assert await device.sleep.next_delay(release=False) == BACKOFF_CAP


async def test_ping_is_answered_with_pong(fake_hub: FakeHub, appliance: Start) -> None:
    """Each `ping` gets a `pong` that names it in `re`, in pairing and linked states alike."""
    device = appliance()
    await device.wait_phase("pairing")
    ping = fake_hub.send("ping", {})
    assert (await fake_hub.next_message("pong")).re == ping.id
    fake_hub.add(device.store.public_key, Added("a4", "Office"))
    await device.wait_phase("linked")
    ping = fake_hub.send("ping", {})
    assert (await fake_hub.next_message("pong")).re == ping.id


async def test_a_hub_that_never_answers_the_hello_is_dropped(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """Without a challenge within the handshake deadline the appliance closes with 4008."""
    fake_hub.mute = True
    device = appliance(timings=Timings(handshake=0.05))
    closed = await fake_hub.next_close()
    assert (closed.code, closed.by_hub) == (CloseCode.TOO_SLOW, False)
    view = await device.wait_phase("waiting")
    assert "stopped answering" in view.status_text


async def test_the_pairing_code_is_never_logged(fake_hub: FakeHub, appliance: Start) -> None:
    """No log event carries the add link or its code, from pairing to welcome."""
    with capture_logs() as events:
        device = appliance()
        view = await device.wait_phase("pairing")
        fake_hub.add(device.store.public_key, Added("a5", "Office"))
        await device.wait_phase("linked")
    assert view.add_link is not None
    code = view.add_link.split("#code=")[1]
    assert events
    assert not [event for event in events if code in repr(event)]
