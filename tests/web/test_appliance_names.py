"""The one name rule over the real API and real websockets: names the link cannot carry are
refused with 400, a bad `hello.name` gets a clean `bad_body`, and no stored name breaks a link."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from actors.router import GATE as GATE_KEY
from mykerio.protocol.identity import b64url, new_nonce
from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.web.live_watch import LiveWatch
from tests.web.org_helpers import member
from tests.web.test_appliances import appliance_for, listed, paired, status_is
from web.hub import Hub

BAD_NAMES = ["Brno\x7fgw", "Brno\u009bgw", "Brno\x01gw", "Brno\ngw"]


@pytest.mark.parametrize("bad", BAD_NAMES)
async def test_add_and_rename_refuse_control_characters(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, bad: str
) -> None:
    """DEL, C1 (U+009B), C0 and line breaks in a name answer 400 naming the rule; the code
    still works and the appliance keeps its good name."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance = appliance_for(hub)
    pairing = await appliance.connect()
    path = f"/api/v1/organizations/{org_id}/appliances"
    refused = await api.post(path, {"code": pairing.body["code"], "name": bad})
    assert refused.status == 400, refused
    error = refused.json["error"]
    assert (error["field"], error["rule"]) == ("name", "control_characters")
    assert "control characters" in error["message"]
    added = await api.post(path, {"code": pairing.body["code"], "name": "Brno gateway"})
    assert added.status == 201, added
    assert (await appliance.receive()).type == "welcome"
    renamed = await api.request("PATCH", f"{path}/{added.json['id']}", {"name": bad})
    assert renamed.status == 400
    assert renamed.json["error"]["rule"] == "control_characters"
    await appliance.status()
    assert (await listed(api, org_id))["Brno gateway"]["status"] == "green"
    appliance.close()


async def test_a_lone_surrogate_in_hello_name_is_a_clean_bad_body(hub: Hub) -> None:
    """`hello.name` = "\\ud800" gets `error` bad_body and close 4000; the gate actor neither
    crashes nor restarts, and the next appliance pairs as usual."""
    assert hub.supervisor is not None
    gate, restarts = hub.supervisor.get(GATE_KEY), hub.supervisor.restarts
    appliance = appliance_for(hub)
    socket = await websocket_connect(HTTPRequest(appliance.url, ssl_options=appliance.ssl))
    hello = {
        "id": "h1",
        "type": "hello",
        "body": {
            "versions": [1],
            "nonce": b64url(new_nonce()),
            "product": "control",
            "version": "9.4.0",
            "name": "\ud800",
        },
    }
    await socket.write_message(json.dumps(hello))  # ASCII JSON: the surrogate as \ud800
    error = json.loads(str(await socket.read_message()))
    assert error["type"] == "error"
    assert error["body"]["code"] == "bad_body"
    assert "hello.name" in error["body"]["message"]
    assert await socket.read_message() is None
    assert socket.close_code == 4000
    assert (hub.supervisor.get(GATE_KEY), hub.supervisor.restarts) == (gate, restarts)
    assert (await appliance_for(hub).connect()).type == "pairing"


async def test_a_stored_name_that_breaks_the_rule_still_links(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """A name stored before the rule (with DEL and U+009B) does not lock the appliance out:
    it is welcomed with the name cleaned, its actor lives on and its status is recorded."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    appliance, appliance_id = await paired(hub, api, org_id)
    await appliance.hang_up()
    assert hub.store is not None
    await hub.store.appliances.rename(appliance_id, "Brno\x7fgw\u009b")
    async with LiveWatch(api, org_id) as live:
        welcome = await appliance.connect()
        assert (welcome.type, welcome.body["name"]) == ("welcome", "Brno gw")
        await appliance.status(licence_expired=True)
        await live.until(status_is("red"))
        assert hub.supervisor is not None
        ref = hub.supervisor.get(f"appliance:{appliance_id}")
        assert ref is not None
        ref.proxy().rename("Brno\x7fgw")  # an actor told a bad name does not crash either
        renamed = await appliance.receive()
        assert (renamed.type, renamed.body["name"]) == ("rename", "Brno gw")
        await appliance.status()
        await live.until(status_is("green"))
    assert ref.is_alive()
    appliance.close()
