"""What the hub tells an appliance over real websockets, as docs/protocol.md says: `error`
answers the offending message (`re`), `welcome` names the organization, an organization's new
name reaches its linked appliances, and the add API answers with what the dashboard shows."""

from __future__ import annotations

import json

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from mykerio.protocol import identity
from mykerio.protocol.envelope import decode
from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from tests.web.test_appliances import appliance_for
from web.hub import Hub


async def _refusal(hub: Hub, *frames: dict[str, object]) -> tuple[dict[str, object], int | None]:
    """Send raw `frames`; the hub's `error` (as raw JSON) and its close code."""
    appliance = appliance_for(hub)
    socket = await websocket_connect(HTTPRequest(appliance.url, ssl_options=appliance.ssl))
    for frame in frames:
        await socket.write_message(json.dumps(frame))
    while True:
        text = await socket.read_message()
        assert isinstance(text, str), "the hub must send an error before closing"
        message = json.loads(text)
        if message["type"] == "error":
            break
    while await socket.read_message() is not None:
        pass
    return message, socket.close_code


def _hello(**extra: object) -> dict[str, object]:
    return {
        "id": "hello-1",
        "type": "hello",
        "body": {
            "versions": [1],
            "nonce": identity.b64url(identity.new_nonce()),
            "product": "control",
            "version": "9.4.0",
            **extra,
        },
    }


async def test_an_error_answers_the_message_it_refuses(hub: Hub) -> None:
    """A refused message with a well-formed id gets an `error` whose `re` is that id; one whose
    id is malformed gets an `error` without `re`."""
    error, code = await _refusal(hub, _hello(colour="blue"))
    assert (error["body"]["code"], error.get("re"), code) == ("bad_body", "hello-1", 4000)  # type: ignore[index]
    early: dict[str, object] = {"id": "status-7", "type": "status", "body": {"knobs": {}}}
    error, code = await _refusal(hub, early)
    assert error["body"]["code"] in ("bad_body", "unexpected_message")  # type: ignore[index]
    assert (error.get("re"), code) == ("status-7", 4000)
    error, _ = await _refusal(
        hub, _hello(), {"id": "pong-3", "type": "pong", "re": "x", "body": {}}
    )
    assert (error["body"]["code"], error.get("re")) == ("unexpected_message", "pong-3")  # type: ignore[index]
    error, _ = await _refusal(hub, {"id": "no spaces!", "type": "hello", "body": {}})
    assert error["body"]["code"] == "bad_envelope"  # type: ignore[index]
    assert "re" not in error
    decode(json.dumps(error), sent_by="hub")  # and it is a valid message


async def test_welcome_names_the_organization_and_a_rename_reaches_the_appliance(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """`welcome.organization` is the organization's name, on pairing and on reconnect; renaming
    the organization sends its linked appliances `organization` with the new name."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    org_name = (await api.get(f"/api/v1/organizations/{org_id}")).json["name"]
    appliance = appliance_for(hub)
    pairing = await appliance.connect()
    added = await api.post(
        f"/api/v1/organizations/{org_id}/appliances",
        {"code": pairing.body["code"], "name": "Brno gateway"},
    )
    assert added.status == 201
    welcome = await appliance.receive()
    assert (welcome.type, welcome.body["organization"]) == ("welcome", org_name)
    renamed = await api.request("PATCH", f"/api/v1/organizations/{org_id}", {"name": "Acme Brno"})
    assert renamed.status == 200, renamed
    message = await appliance.receive()
    assert (message.type, dict(message.body)) == ("organization", {"name": "Acme Brno"})
    appliance.close()
    again = await appliance.connect()
    assert (again.type, again.body["organization"]) == ("welcome", "Acme Brno")
    appliance.close()


async def test_the_add_answer_is_what_the_dashboard_shows(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """An appliance being welcomed as it is added is answered grey "Connecting" (not red
    "Offline"), as the list shows it until its first status."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance = appliance_for(hub)
    pairing = await appliance.connect()
    added = await api.post(
        f"/api/v1/organizations/{org_id}/appliances",
        {"code": pairing.body["code"], "name": "Brno gateway"},
    )
    assert (added.json["status"], added.json["reasons"]) == ("grey", ["Connecting"])
    assert (await appliance.receive()).type == "welcome"
    await appliance.status()
    appliance.close()
