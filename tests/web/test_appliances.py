"""The appliance link over real websockets: pairing, status colours, live dashboard updates,
removal, refused keys, forged proofs and replays."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from mykerio.clock import FakeClock
from mykerio.protocol.envelope import Envelope
from mykerio.protocol.identity import b64url
from tests.api_client import ApiSession
from tests.appliance_client import TestAppliance
from tests.conftest import api_session, hub_config_for, running_hub
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.hub_restart import restarted
from tests.web.live_watch import LiveWatch
from tests.web.org_helpers import member
from web.hub import Hub


def appliance_for(hub: Hub) -> TestAppliance:
    return TestAppliance(hub.url, str(hub.config.data_dir / "tls" / "cert.pem"))


async def paired(hub: Hub, api: ApiSession, org_id: str, name: str = "Brno gateway") -> Any:
    """An appliance that connected, got a code, and was added by the member behind `api`."""
    appliance = appliance_for(hub)
    pairing = await appliance.connect()
    assert pairing.type == "pairing", pairing
    code = parse_qs(urlparse(str(pairing.body["link"])).fragment)["code"][0]
    assert code == pairing.body["code"]
    preview = await api.post("/api/v1/appliances/pairing-preview", {"code": code})
    assert preview.json == {
        "product": "control",
        "version": "9.4.0",
        "name_hint": "gw-brno",
        "ip": "127.0.0.1",
    }
    added = await api.post(
        f"/api/v1/organizations/{org_id}/appliances", {"code": code, "name": name}
    )
    assert added.status == 201, added
    welcome = await appliance.receive()
    assert welcome.type == "welcome"
    assert welcome.body["name"] == name
    assert welcome.body["hub_key"] == pairing_hub_key(appliance)
    return appliance, added.json["id"]


def pairing_hub_key(appliance: TestAppliance) -> str:
    return b64url(appliance.hub_key)


async def listed(api: ApiSession, org_id: str) -> dict[str, Any]:
    result = await api.get(f"/api/v1/organizations/{org_id}/appliances")
    return {a["name"]: a for a in result.json["appliances"]}


def status_is(colour: str, connected: bool = True) -> Any:
    def wanted(message: dict[str, Any]) -> bool:
        appliance = message.get("appliance", {})
        return bool(appliance.get("status") == colour and appliance.get("connected") is connected)

    return wanted


async def test_pairing_then_every_status_colour(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """An unknown appliance gets a code; once added it is green, yellow for minor issues, red
    for an expired licence and when offline."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    async with LiveWatch(api, org_id) as live:
        appliance, _ = await paired(hub, api, org_id)
        await appliance.status()
        await live.until(status_is("green"))
        await appliance.status(low_memory=True, update_available=True)
        await live.until(status_is("yellow"))
        row = (await listed(api, org_id))["Brno gateway"]
        assert row["reasons"] == ["Low memory", "Update available"]
        assert row["pending"] == 2
        await appliance.status(licence_expired=True)
        await live.until(status_is("red"))
        await appliance.status()
        await live.until(status_is("green"))
        await appliance.status(maintenance_expired=True)
        await live.until(status_is("red"))
        appliance.close()
        await live.until(status_is("red", connected=False))
    assert (await listed(api, org_id))["Brno gateway"]["reasons"] == ["Offline"]


async def test_known_appliance_reconnects_with_welcome(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """After pairing, a reconnect of the same key is welcomed at once (no new pairing)."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance, _ = await paired(hub, api, org_id)
    appliance.close()
    again = await appliance.connect()
    assert again.type == "welcome"
    appliance.close()


async def test_dashboard_socket_gets_live_updates(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """A member's live socket receives the appliance's status change without reloading."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance, appliance_id = await paired(hub, api, org_id)
    request = HTTPRequest(
        hub.url.replace("https://", "wss://") + f"/api/v1/live?org={org_id}",
        headers={
            "Cookie": "; ".join(f"{k}={v}" for k, v in api.cookies.items()),
            "Origin": hub.url,
        },
        ssl_options=api.ssl,
    )
    live = await websocket_connect(request)
    try:
        assert json.loads(await live.read_message())["type"] == "hello"  # type: ignore[arg-type]
        await appliance.status(update_available=True)
        async with asyncio.timeout(5):
            while True:
                message = json.loads(await live.read_message())  # type: ignore[arg-type]
                if message["type"] == "appliance" and message["appliance"]["status"] == "yellow":
                    break
        assert message["appliance"]["id"] == appliance_id
    finally:
        live.close()
        appliance.close()


async def test_removal_closes_the_socket_and_refuses_the_key(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Removing in the hub sends `remove`, closes within 5 s (4009) and refuses reconnects
    (4003)."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance, appliance_id = await paired(hub, api, org_id)
    removed = await api.request(
        "DELETE", f"/api/v1/organizations/{org_id}/appliances/{appliance_id}"
    )
    assert removed.status == 204
    async with asyncio.timeout(5):
        message = await appliance.receive()
        assert message.type == "remove"
        assert await appliance.closed() == 4009
    assert await listed(api, org_id) == {}
    refused = await appliance.connect()
    assert refused.type == "error"
    assert refused.body["code"] == "revoked_key"
    assert await appliance.closed() == 4003


async def test_removal_from_the_appliance(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """The appliance's own "Remove from MyKerio" removes it from the organization."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    async with LiveWatch(api, org_id) as live:
        appliance, appliance_id = await paired(hub, api, org_id)
        await appliance.send(Envelope.new("removed", {}))
        assert await appliance.closed() == 4009
        gone = await live.until(lambda message: message["type"] == "appliance_removed")
        assert gone["id"] == appliance_id
    assert await listed(api, org_id) == {}


async def test_forged_proof_and_replayed_nonce_are_refused(hub: Hub) -> None:
    """A proof with a bad signature closes with 4004; so does reusing a hello nonce."""
    forger = appliance_for(hub)
    answer = await forger.connect(forge=True)
    assert (answer.type, answer.body["code"]) == ("error", "forged_proof")
    assert await forger.closed() == 4004
    honest = appliance_for(hub)
    nonce = b"\x01" * 32
    assert (await honest.connect(nonce=nonce)).type == "pairing"
    honest.close()
    replay = appliance_for(hub)
    answer = await replay.connect(nonce=nonce)
    assert (answer.type, answer.body["code"]) == ("error", "replayed_nonce")
    assert await replay.closed() == 4004


IDENTITY_POINT = (1).to_bytes(32, "little")
# With the identity point as key, R = identity and S = 0 verify for any message.
IDENTITY_SIGNATURE = IDENTITY_POINT + bytes(32)
ORDER_TWO_POINT = bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
NON_CANONICAL_Y = bytes.fromhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")


async def test_small_order_and_non_canonical_keys_are_refused(hub: Hub) -> None:
    """A proof with the identity point (whose signature verifies without a private key),
    another small-order point, or a non-canonical encoding is refused with `weak_key` and 4004,
    and the key is never offered a pairing code."""
    for key in (IDENTITY_POINT, ORDER_TWO_POINT, NON_CANONICAL_Y):
        weak = appliance_for(hub)
        weak.public_key = key
        answer = await weak.connect(signature=IDENTITY_SIGNATURE)
        assert (answer.type, answer.body["code"]) == ("error", "weak_key"), key.hex()
        assert await weak.closed() == 4004


async def test_multi_server_is_refused_with_the_guides_message(hub: Hub) -> None:
    """A Kerio Connect Multi-Server is refused (4005) with a message it can show."""
    appliance = TestAppliance(hub.url, str(hub.config.data_dir / "tls" / "cert.pem"), "connect")
    answer = await appliance.connect(multi_server=True)
    assert answer.type == "refused"
    assert "Multi-Server" in str(answer.body["message"])
    assert await appliance.closed() == 4005


async def test_other_organizations_do_not_see_an_appliance(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """An appliance of organization A is invisible and untouchable for organization B."""
    org_a = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance, appliance_id = await paired(hub, api, org_a)
    bob = api_session(hub)
    org_b = await member(bob, smtp_server, "bob@other.example", "Bob Smith")
    assert (await bob.get(f"/api/v1/organizations/{org_b}/appliances")).json["appliances"] == []
    assert (await bob.get(f"/api/v1/organizations/{org_a}/appliances")).status == 404
    for path in (
        f"/api/v1/organizations/{org_b}/appliances/{appliance_id}",
        f"/api/v1/organizations/{org_a}/appliances/{appliance_id}",
    ):
        assert (await bob.request("DELETE", path)).status == 404
        assert (await bob.request("PATCH", path, {"name": "x"})).status == 404
    assert "Brno gateway" in await listed(api, org_a)
    appliance.close()


async def test_rename_reaches_the_appliance(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Renaming in the hub tells the appliance its new name."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance, appliance_id = await paired(hub, api, org_id)
    renamed = await api.request(
        "PATCH", f"/api/v1/organizations/{org_id}/appliances/{appliance_id}", {"name": "Prague"}
    )
    assert renamed.json["name"] == "Prague"
    message = await appliance.receive()
    assert (message.type, message.body["name"]) == ("rename", "Prague")
    appliance.close()


async def test_after_a_hub_restart_an_absent_appliance_shows_offline(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """The stopping hub closes an appliance's socket with 1001 ("going away"); one not back
    yet is red "Offline" after the restart instead of keeping its old green."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    async with LiveWatch(api, org_id) as live:
        appliance, _ = await paired(hub, api, org_id)
        await appliance.status()
        await live.until(status_is("green"))
    second = await restarted(hub)
    assert await appliance.closed() == 1001  # the stopping hub said "going away"
    try:
        again = api_session(second)
        again.cookies = dict(api.cookies)
        row = (await listed(again, org_id))["Brno gateway"]
        assert (row["status"], row["connected"], row["reasons"]) == ("red", False, ["Offline"])
    finally:
        appliance.close()
        await second.stop(deadline=10)


async def test_a_waiting_appliance_gets_a_new_code_when_its_code_expires(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: Any, monkeypatch: Any
) -> None:
    """After 15 minutes the hub sends a fresh `pairing` on the same socket; the old code no
    longer works and the new one adds the appliance."""
    import actors.connection

    monkeypatch.setattr(actors.connection, "PAIRING_RENEW_SECONDS", 0.05)
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance = appliance_for(hub)
    first = await appliance.connect()
    assert first.type == "pairing"
    clock.advance(15 * 60 + 1)  # the first code's 15 minutes are over (hub clock)
    renewed = await appliance.receive()
    assert renewed.type == "pairing"
    assert renewed.re is None
    assert renewed.body["code"] != first.body["code"]
    old = await api.post("/api/v1/appliances/pairing-preview", {"code": first.body["code"]})
    assert old.status == 404
    added = await api.post(
        f"/api/v1/organizations/{org_id}/appliances",
        {"code": renewed.body["code"], "name": "Late gateway"},
    )
    assert added.status == 201, added
    assert (await appliance.receive()).type == "welcome"
    appliance.close()


async def test_appliance_upgrades_are_counted_and_logged_like_requests(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """/metrics counts appliance socket upgrades under their route, with status 101."""
    import re

    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance, _ = await paired(hub, api, org_id)
    text = (await api.get("/metrics")).raw.decode()
    assert re.search(
        r'mykerio_http_requests_total\{method="GET",route="/appliance/v1/socket",status="101"\} '
        r"1\.0",
        text,
    ), text
    appliance.close()


async def test_status_history_is_kept_and_paged_newest_first(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: Any
) -> None:
    """Every colour change is recorded with its reasons; the history pages newest first with
    a cursor, and belongs to the organization (an outsider gets 404)."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    async with LiveWatch(api, org_id) as live:
        appliance, appliance_id = await paired(hub, api, org_id)
        await appliance.status()
        await live.until(status_is("green"))
        clock.advance(60)
        await appliance.status(low_memory=True)
        await live.until(status_is("yellow"))
        clock.advance(60)
        await appliance.status(licence_expired=True)
        await live.until(status_is("red"))
        clock.advance(60)
        appliance.close()
        await live.until(status_is("red", connected=False))
    url = f"/api/v1/organizations/{org_id}/appliances/{appliance_id}/history"
    everything = (await api.get(url)).json
    assert [(c["status"], c["reasons"]) for c in everything["changes"]] == [
        ("red", ["Offline"]),
        ("red", ["Licence expired"]),
        ("yellow", ["Low memory"]),
        ("green", []),
    ]
    assert everything["next_cursor"] == ""
    first = (await api.get(url + "?limit=3")).json
    second = (await api.get(url + f"?limit=3&cursor={first['next_cursor']}")).json
    assert first["changes"] + second["changes"] == everything["changes"]
    assert second["next_cursor"] == ""
    assert (await api.get(url + "?limit=0")).status == 400
    outsider = api_session(hub, "outsider")
    await member(outsider, smtp_server, "mallory@evil.example", "Mallory")
    assert (await outsider.get(url)).status == 404


async def test_a_second_waiting_socket_of_one_key_replaces_the_first(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """An unknown appliance that connects again while its first socket still waits: the first
    closes with 4002 and the new socket shows the same, still valid code, which adds it."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance = appliance_for(hub)
    first = await appliance.connect()
    first_socket = appliance.socket
    second = await appliance.connect()
    assert first_socket is not None
    while await first_socket.read_message() is not None:
        pass
    assert first_socket.close_code == 4002
    first_socket.close()  # release the client side too
    assert (second.body["code"], second.body["expires_at"]) == (
        first.body["code"],
        first.body["expires_at"],
    )
    added = await api.post(
        f"/api/v1/organizations/{org_id}/appliances", {"code": second.body["code"], "name": "Gw"}
    )
    assert added.status == 201
    assert (await appliance.receive()).type == "welcome"
    appliance.close()


async def test_a_reconnect_keeps_the_last_known_state_until_the_first_status(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: Any
) -> None:
    """A licence-expired box that reconnects is never shown or recorded green: the row keeps
    its last known state until the box's first status, and the history holds only real
    changes (red, offline, red)."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    seen: list[tuple[str, bool]] = []

    def noting(wanted: Any) -> Any:
        def check(message: dict[str, Any]) -> bool:
            if "appliance" in message:
                seen.append((message["appliance"]["status"], message["appliance"]["connected"]))
            return bool(wanted(message))

        return check

    async with LiveWatch(api, org_id) as live:
        appliance, appliance_id = await paired(hub, api, org_id)
        await appliance.status(licence_expired=True)
        await live.until(noting(status_is("red")))
        clock.advance(60)
        await appliance.hang_up()
        await live.until(noting(status_is("red", connected=False)))
        clock.advance(60)
        assert (await appliance.connect()).type == "welcome"
        row = (await listed(api, org_id))["Brno gateway"]
        assert (row["status"], row["reasons"]) == ("red", ["Offline"])
        await appliance.status(licence_expired=True)
        await live.until(noting(status_is("red")))
        appliance.close()
    assert ("green", True) not in seen
    url = f"/api/v1/organizations/{org_id}/appliances/{appliance_id}/history"
    changes = (await api.get(url)).json["changes"]
    assert [(c["status"], c["reasons"]) for c in changes] == [
        ("red", ["Licence expired"]),
        ("red", ["Offline"]),
        ("red", ["Licence expired"]),
    ]


@pytest.fixture
async def timed_hub(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> AsyncIterator[Hub]:
    """A hub whose appliance pings and silence timers run on the fake clock."""
    config = hub_config_for(tmp_path, smtp_server, sms_gateway)
    async with running_hub(config, clock, fake_timers=True) as running:
        yield running


async def test_an_appliance_silent_for_90s_gets_error_silent_and_4008(
    timed_hub: Hub, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """89.5 s of silence keeps the link; at 90 s after its last frame (not at the next 30 s
    ping tick) the hub sends `error` `silent`, closes with 4008 and shows it offline."""
    hub = timed_hub
    api = api_session(hub)
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    async with LiveWatch(api, org_id) as live:
        appliance, _ = await paired(hub, api, org_id)
        await appliance.status()
        await live.until(status_is("green"))
        clock.advance(89.5)
        assert appliance.socket is not None
        # A probe: still linked (not dropped as silent), so this bad frame gets its own error.
        await appliance.socket.write_message('{"id": "probe1", "type": "hello", "body": {}}')
        answer = await appliance.receive()
        assert (answer.type, answer.body["code"]) == ("error", "bad_body")
        await appliance.closed()
        await live.until(status_is("red", connected=False))

        assert (await appliance.connect()).type == "welcome"
        await appliance.status()
        await live.until(status_is("green"))
        clock.advance(15)
        await appliance.status(low_memory=True)  # its last frame, between two pings
        await live.until(status_is("yellow"))
        clock.advance(89.5)
        assert appliance.socket is not None
        clock.advance(0.5)
        types, error = [], None
        while (text := await appliance.socket.read_message()) is not None:
            envelope = json.loads(text)
            types.append(envelope["type"])
            if envelope["type"] == "error":
                error = envelope["body"]["code"]
        assert types == ["ping", "ping", "ping", "error"]  # 30, 60 and 90 s; then at 105 s
        assert error == "silent"
        assert appliance.socket.close_code == 4008
        appliance.close()
        await live.until(status_is("red", connected=False))


def history_of(changes: list[dict[str, Any]]) -> list[str]:
    """The colours of a history page, oldest first."""
    return [c["status"] for c in reversed(changes)]


async def test_a_connection_over_its_message_budget_is_closed_with_4029(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> None:
    """With a budget of 10 messages and 1 more a second, the 11th frame on a connection gets
    `error` `too_many_messages` and close 4029 unless time refilled the bucket; frames within
    the budget are all handled."""
    config = hub_config_for(
        tmp_path,
        smtp_server,
        sms_gateway,
        **{"appliances.message_burst": 10, "appliances.message_rate": 1.0},
    )
    async with running_hub(config, clock) as hub:
        api = api_session(hub)
        org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        async with LiveWatch(api, org_id) as live:
            appliance, appliance_id = await paired(hub, api, org_id)  # hello and proof: 2
            for n in range(7):  # 9
                await appliance.status(low_memory=n % 2 == 1)
            await appliance.status(licence_expired=True)  # 10: the budget is spent
            await live.until(status_is("red"))
            clock.advance(2)  # two more tokens
            await appliance.status(low_memory=True)
            await appliance.status()
            await live.until(status_is("green"))
            await appliance.status(low_memory=True)  # over the budget
            answer = await appliance.receive()
            assert (answer.type, answer.body["code"]) == ("error", "too_many_messages")
            assert await appliance.closed() == 4029
            await live.until(status_is("red", connected=False))
        url = f"/api/v1/organizations/{org_id}/appliances/{appliance_id}/history"
        changes = (await api.get(url)).json["changes"]
        assert history_of(changes) == ["green", "yellow"] * 3 + ["green"] + [
            "red",
            "yellow",
            "green",
            "red",
        ]


async def test_a_repeated_status_changes_nothing(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Twenty equal statuses make no live update and no history row: the next update the
    dashboard gets is the real change."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    async with LiveWatch(api, org_id) as live:
        appliance, appliance_id = await paired(hub, api, org_id)
        await appliance.status()
        await live.until(status_is("green"))
        for _ in range(20):
            await appliance.status()
        await appliance.status(low_memory=True)
        assert (await live.next())["appliance"]["status"] == "yellow"
        appliance.close()
    url = f"/api/v1/organizations/{org_id}/appliances/{appliance_id}/history"
    changes = (await api.get(url)).json["changes"]
    assert history_of(changes)[:2] == ["green", "yellow"]


async def test_the_list_answers_compressed_or_plain_as_the_client_asks(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """A browser (Accept-Encoding: gzip) gets the list compressed, any other client plain JSON;
    both hold the same appliances, and a change shows in the next compressed answer."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    _appliance, appliance_id = await paired(hub, api, org_id)

    async def fetch(accept_encoding: str) -> tuple[str | None, bytes]:
        request = HTTPRequest(
            f"{hub.url}/api/v1/organizations/{org_id}/appliances",
            headers={
                "Cookie": "; ".join(f"{k}={v}" for k, v in api.cookies.items()),
                "Accept-Encoding": accept_encoding,
            },
            ssl_options=api.ssl,
            decompress_response=False,
        )
        response = await AsyncHTTPClient().fetch(request)
        assert "Accept-Encoding" in response.headers.get("Vary", "")
        return response.headers.get("Content-Encoding"), response.body

    encoding, body = await fetch("gzip, deflate, br")
    assert encoding == "gzip"
    assert [a["id"] for a in json.loads(gzip.decompress(body))["appliances"]] == [appliance_id]
    for refusal in ("identity", "gzip;q=0, identity"):
        encoding, body = await fetch(refusal)
        assert encoding is None
        assert [a["name"] for a in json.loads(body)["appliances"]] == ["Brno gateway"]
    renamed = await api.request(
        "PATCH", f"/api/v1/organizations/{org_id}/appliances/{appliance_id}", {"name": "Zlín"}
    )
    assert renamed.status == 200, renamed
    encoding, body = await fetch("gzip")
    assert json.loads(gzip.decompress(body))["appliances"][0]["name"] == "Zlín"
