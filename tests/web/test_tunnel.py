""" "Open administration" through the real hub and the real simulator: a ticket opens the
appliance's own administration on the tunnel origin, signed in as "<name> via MyKerio"; pages,
JSON-RPC, a form post and a 50 MB download go through; the appliance's cookies stay in the
hub; Statistics, used or stale tickets, ended sessions and other organizations are refused."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from mykerio.agent.link import ApplianceLink
from mykerio.clock import FakeClock
from tests.api_client import ApiSession
from tests.conftest import api_session
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import login
from tests.web.org_helpers import member
from tests.web.test_appliance_streams import linked_simulator
from web.hub import Hub

WAIT = 30.0


@contextlib.asynccontextmanager
async def linked_appliance(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> AsyncIterator[tuple[ApplianceLink, str, str]]:
    """A linked simulator in Ana's organization: (link, org id, appliance id)."""
    link, org_id, appliance_id, task = await linked_simulator(
        hub, api, smtp_server, tmp_path, protocol=2
    )
    try:
        yield link, org_id, appliance_id
    finally:
        link.stop()
        async with asyncio.timeout(WAIT):
            await task


@pytest.fixture
async def opened(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> AsyncIterator[tuple[ApplianceLink, str, str]]:
    """A linked simulator in Ana's organization: (link, org id, appliance id)."""
    async with linked_appliance(hub, api, smtp_server, tmp_path) as linked:
        yield linked


def tunnel_client(hub: Hub) -> ApiSession:
    assert hub.tunnel is not None
    return ApiSession(hub.tunnel.public_url, str(hub.config.data_dir / "tls" / "cert.pem"))


async def enter(hub: Hub, api: ApiSession, org_id: str, appliance_id: str) -> ApiSession:
    """Click "Open administration" and follow the ticket into the tunnel origin."""
    answer = await api.post(
        f"/api/v1/organizations/{org_id}/appliances/{appliance_id}/administration"
    )
    assert answer.status == 201, answer
    url = urlparse(answer.json["url"])
    browser = tunnel_client(hub)
    entered = await browser.get(f"{url.path}?{url.query}")
    assert entered.status == 303, entered
    assert entered.headers["Location"] == "/admin/"
    return browser


async def test_open_administration_signs_in_via_mykerio_and_serves_the_console(
    hub: Hub, api: ApiSession, opened: tuple[ApplianceLink, str, str]
) -> None:
    """Through the ticket, the appliance's console greets "Ana Novak via MyKerio", with the
    hub's banner and return arrow; its own cookie never reaches the browser; JSON-RPC and a
    form post work, and the appliance's audit log names Ana via MyKerio."""
    link, org_id, appliance_id = opened
    browser = await enter(hub, api, org_id, appliance_id)
    assert set(browser.cookies) == {"__Host-mk_tunnel"}
    cookie_header = browser.set_cookie_headers[0]
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie_header
    assert "Domain" not in cookie_header
    home = await browser.get("/admin/")
    assert home.status == 200
    page = home.raw.decode()
    assert "Ana Novak via MyKerio" in page
    assert 'id="mykerio-return"' in page
    assert "KSESSION" not in str(home.headers)
    rpc = await browser.request(
        "POST",
        "/admin/api/session/jsonrpc/",
        {"jsonrpc": "2.0", "id": 1, "method": "Session.whoAmI"},
        csrf=False,
    )
    assert rpc.status == 200, rpc
    assert rpc.json["result"]["user"]["fullName"] == "Ana Novak via MyKerio"
    kerio = await browser.request(
        "POST",
        "/admin/api/jsonrpc/",
        {"jsonrpc": "2.0", "id": 2, "method": "IpAddressGroups.get", "params": {}},
        csrf=False,
    )
    assert kerio.status == 200, kerio
    assert "result" in kerio.json
    form = await browser.get("/admin/settings")
    token = form.raw.decode().split('name="token" value="')[1].split('"')[0]
    assert hub.tunnel is not None
    posted = await browser.http.fetch(
        HTTPRequest(
            hub.tunnel.public_url + "/admin/settings",
            method="POST",
            body=f"token={token}&hostname=gw-brno-2",
            headers={
                "Cookie": f"__Host-mk_tunnel={browser.cookies['__Host-mk_tunnel']}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            ssl_options=browser.ssl,
        ),
        raise_error=False,
    )
    assert posted.code == 200
    assert b"Saved: the host name is gw-brno-2." in posted.body
    audit = [(entry.who, entry.what) for entry in link.tunnel.sessions.audit]
    assert ("Ana Novak via MyKerio", "signed in") in audit
    assert ("Ana Novak via MyKerio", "changed the host name to gw-brno-2") in audit
    activity = await api.get(f"/api/v1/organizations/{org_id}/activity")
    assert "administration_opened" in activity.raw.decode()


async def test_a_50_mb_download_streams_through_the_tunnel(
    hub: Hub, api: ApiSession, opened: tuple[ApplianceLink, str, str]
) -> None:
    """The generated 50 MB file arrives whole, with its length, streamed."""
    _, org_id, appliance_id = opened
    browser = await enter(hub, api, org_id, appliance_id)
    received = 0

    def count(chunk: bytes) -> None:
        nonlocal received
        received += len(chunk)

    assert hub.tunnel is not None
    response = await browser.http.fetch(
        HTTPRequest(
            hub.tunnel.public_url + "/admin/download/big.bin",
            headers={"Cookie": f"__Host-mk_tunnel={browser.cookies['__Host-mk_tunnel']}"},
            ssl_options=browser.ssl,
            streaming_callback=count,
            request_timeout=60,
        ),
        raise_error=False,
    )
    assert response.code == 200
    assert response.headers["Content-Length"] == str(50 * 1024 * 1024)
    assert received == 50 * 1024 * 1024


async def test_a_ticket_works_once_and_expires(
    hub: Hub, api: ApiSession, clock: FakeClock, opened: tuple[ApplianceLink, str, str]
) -> None:
    """A used ticket is refused the second time; an unused one is refused after its time."""
    _, org_id, appliance_id = opened
    path = f"/api/v1/organizations/{org_id}/appliances/{appliance_id}/administration"
    url = urlparse((await api.post(path)).json["url"])
    first = await tunnel_client(hub).get(f"{url.path}?{url.query}")
    assert first.status == 303
    again = await tunnel_client(hub).get(f"{url.path}?{url.query}")
    assert again.status == 403
    assert "used already or has expired" in again.raw.decode()
    stale = urlparse((await api.post(path)).json["url"])
    clock.advance(61)
    late = await tunnel_client(hub).get(f"{stale.path}?{stale.query}")
    assert late.status == 403


async def test_statistics_and_ticketless_requests_are_refused(
    hub: Hub, api: ApiSession, opened: tuple[ApplianceLink, str, str]
) -> None:
    """Kerio Control Statistics gets a page that says why; no cookie, no tunnel."""
    _, org_id, appliance_id = opened
    browser = await enter(hub, api, org_id, appliance_id)
    statistics = await browser.get("/admin/statistics")
    assert statistics.status == 403
    assert "Statistics cannot be opened" in statistics.raw.decode()
    stranger = await tunnel_client(hub).get("/admin/")
    assert stranger.status == 401


async def test_logout_ends_the_tunnel_and_another_user_is_not_let_in(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, opened: tuple[ApplianceLink, str, str]
) -> None:
    """After logout the tunnel cookie opens nothing; a second user of another organization
    gets a 404 for the first one's appliance."""
    _, org_id, appliance_id = opened
    browser = await enter(hub, api, org_id, appliance_id)
    assert (await browser.get("/admin/")).status == 200
    bob = api_session(hub)
    await member(bob, smtp_server, "bob@beta.example", "Bob Brown")
    path = f"/api/v1/organizations/{org_id}/appliances/{appliance_id}/administration"
    assert (await bob.post(path)).status == 404
    await api.request("DELETE", "/api/v1/sessions")
    after = await browser.get("/admin/")
    assert after.status == 401


async def test_a_page_of_many_requests_does_not_spend_the_appliances_message_budget(
    hub: Hub, api: ApiSession, opened: tuple[ApplianceLink, str, str]
) -> None:
    """200 requests through the tunnel (each a stream the appliance accepts) leave the
    appliance linked: answers to the hub's opens spend no token of its message budget."""
    link, org_id, appliance_id = opened
    browser = await enter(hub, api, org_id, appliance_id)

    async def icon(number: int) -> int:
        return (await browser.get(f"/admin/icon/{number % 50}.svg")).status

    statuses = []
    for start in range(0, 200, 10):
        statuses += await asyncio.gather(*(icon(n) for n in range(start, start + 10)))
    assert statuses == [200] * 200
    assert link.view.phase == "linked"


async def test_the_consoles_websocket_goes_through_the_tunnel(
    hub: Hub, api: ApiSession, opened: tuple[ApplianceLink, str, str]
) -> None:
    """The console's WebSocket greets Ana via MyKerio and echoes; a page of another origin
    cannot open it with the tunnel cookie."""
    _, org_id, appliance_id = opened
    browser = await enter(hub, api, org_id, appliance_id)
    assert hub.tunnel is not None
    url = hub.tunnel.public_url.replace("https://", "wss://") + "/admin/ws"
    cookie = f"__Host-mk_tunnel={browser.cookies['__Host-mk_tunnel']}"
    request = HTTPRequest(
        url,
        headers={"Cookie": cookie, "Origin": hub.tunnel.public_url},
        ssl_options=browser.ssl,
    )
    socket = await websocket_connect(request)
    assert await socket.read_message() == "hello Ana Novak via MyKerio"
    await socket.write_message("ping")
    assert await socket.read_message() == "ping"
    await socket.write_message(b"\x00\x01", binary=True)
    assert await socket.read_message() == b"\x00\x01"
    socket.close()
    hostile = HTTPRequest(
        url, headers={"Cookie": cookie, "Origin": hub.url}, ssl_options=browser.ssl
    )
    with pytest.raises(HTTPClientError) as refused:
        await websocket_connect(hostile)
    assert refused.value.code == 403


async def test_tickets_never_reach_the_log(
    hub: Hub,
    api: ApiSession,
    opened: tuple[ApplianceLink, str, str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The tunnel origin's access lines name the path, never the ticket in its query."""
    _, org_id, appliance_id = opened
    path = f"/api/v1/organizations/{org_id}/appliances/{appliance_id}/administration"
    url = urlparse((await api.post(path)).json["url"])
    ticket = url.query.removeprefix("ticket=")
    browser = tunnel_client(hub)
    await browser.get(f"{url.path}?{url.query}")
    await browser.get(f"{url.path}?{url.query}")  # (refused: logged as a warning by default)
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "/__mykerio/enter" in logged
    assert ticket not in logged


async def test_using_the_tunnel_keeps_the_hub_session_alive_and_its_end_ends_the_tunnel(
    hub: Hub, api: ApiSession, clock: FakeClock, opened: tuple[ApplianceLink, str, str]
) -> None:
    """Without "Keep me logged in" the hub session ends after 15 idle minutes: work in the
    tunnel counts as activity (checked once a minute), and 15 idle minutes end both."""
    _, org_id, appliance_id = opened
    ana = api_session(hub)
    assert (await login(ana, "ana@acme.example", keep=False)).status == 200
    browser = await enter(hub, ana, org_id, appliance_id)
    for _ in range(3):  # 30 minutes of work in the tunnel alone
        clock.advance(10 * 60)
        assert (await browser.get("/admin/")).status == 200
    assert (await ana.get(f"/api/v1/organizations/{org_id}")).status == 200
    clock.advance(16 * 60)
    assert (await browser.get("/admin/")).status == 401


async def test_a_download_given_up_midway_frees_its_place_in_line(
    hub: Hub, api: ApiSession, opened: tuple[ApplianceLink, str, str]
) -> None:
    """Browsers that drop eight 50 MB downloads after the first bytes leave the tunnel
    usable: the next requests of the appliance are all answered."""
    link, org_id, appliance_id = opened
    browser = await enter(hub, api, org_id, appliance_id)
    assert hub.tunnel is not None

    def drop(chunk: bytes) -> None:
        raise ConnectionAbortedError("the user cancelled the download")

    for _ in range(8):
        with contextlib.suppress(Exception):  # (the client's own abort, whatever its type)
            await browser.http.fetch(
                HTTPRequest(
                    hub.tunnel.public_url + "/admin/download/big.bin",
                    headers={"Cookie": f"__Host-mk_tunnel={browser.cookies['__Host-mk_tunnel']}"},
                    ssl_options=browser.ssl,
                    streaming_callback=drop,
                ),
                raise_error=False,
            )
    answers = await asyncio.gather(*(browser.get(f"/admin/icon/{n}.svg") for n in range(12)))
    assert [answer.status for answer in answers] == [200] * 12
    assert link.view.phase == "linked"
