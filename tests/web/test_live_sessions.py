"""The dashboard's live socket and sessions: own origin only, closed at once when its session
ends (logout, password change or reset, ended in Settings, expiry) or its organization access
goes; the absolute session lifetime; the user's list of sessions."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from mykerio.clock import FakeClock
from tests.api_client import ApiSession
from tests.conftest import api_session
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import PASSWORD, login, register, token_in
from tests.web.org_helpers import member
from web import live
from web.hub import Hub

EMAIL = "ana@acme.example"
NEW = "Quartz-Meadow-77"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


async def open_live(
    api: ApiSession, *, origin: str | None = "", org: str = ""
) -> WebSocketClientConnection:
    """A live socket with `api`'s cookies; `origin` "" is the hub's own, None sends none."""
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in api.cookies.items())}
    if origin is not None:
        headers["Origin"] = origin or api.base_url
    request = HTTPRequest(
        api.base_url.replace("https://", "wss://") + f"/api/v1/live?org={org}",
        headers=headers,
        ssl_options=api.ssl,
    )
    socket = await websocket_connect(request)
    assert json.loads(await socket.read_message() or "{}")["type"] == "hello"
    return socket


async def closed(socket: WebSocketClientConnection) -> tuple[int | None, str | None]:
    """Wait (without sending anything) until the hub closes `socket`; its code and reason."""
    async with asyncio.timeout(5):
        while (await socket.read_message()) is not None:
            pass
    socket.close()  # the client's side of the finished closing handshake
    return socket.close_code, socket.close_reason


async def still_open(socket: WebSocketClientConnection) -> bool:
    """The socket still answers a ping (so its session is alive)."""
    await socket.write_message(json.dumps({"type": "ping"}))
    message: Any = await socket.read_message()
    return message is not None and json.loads(message) == {"type": "pong"}


async def two_sessions(hub: Hub, api: ApiSession, smtp: LoopbackSmtp) -> ApiSession:
    """Ana registered and logged in on `api` and on a second browser, which is returned."""
    await register(api, smtp, EMAIL)
    assert (await login(api, EMAIL)).status == 200
    other = api_session(hub, user_agent=CHROME)
    assert (await login(other, EMAIL)).status == 200
    return other


@pytest.mark.parametrize(
    "origin", [None, "https://evil.example", "http://localhost", "https://localhost:1"]
)
async def test_live_socket_requires_the_hubs_own_origin(
    api: ApiSession, smtp_server: LoopbackSmtp, origin: str | None
) -> None:
    """A live socket without Origin, or with any origin but the hub's own, is refused 403."""
    await register(api, smtp_server, EMAIL)
    await login(api, EMAIL)
    with pytest.raises(HTTPClientError) as refused:
        await open_live(api, origin=origin)
    assert refused.value.code == 403
    (await open_live(api)).close()


async def test_logout_closes_that_sessions_socket_at_once(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Logging out closes the session's open live socket with 4401 session_ended, without the
    browser sending anything; another session's socket stays open."""
    other = await two_sessions(hub, api, smtp_server)
    mine, theirs = await open_live(api), await open_live(other)
    await api.request("DELETE", "/api/v1/sessions")
    assert await closed(mine) == (4401, "session_ended")
    assert await still_open(theirs)
    theirs.close()


async def test_password_change_closes_the_other_sessions_sockets(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Changing the password closes every other session's live socket at once (4401); the
    session that changed it keeps its socket."""
    other = await two_sessions(hub, api, smtp_server)
    mine, theirs = await open_live(api), await open_live(other)
    changed = await api.post(
        "/api/v1/me/password", {"current": PASSWORD, "password": NEW, "confirm": NEW}
    )
    assert changed.status == 204, changed
    assert await closed(theirs) == (4401, "session_ended")
    assert await still_open(mine)
    mine.close()


async def test_password_reset_closes_every_socket(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """A password reset by emailed link closes all of the user's live sockets at once."""
    other = await two_sessions(hub, api, smtp_server)
    sockets = [await open_live(api), await open_live(other)]
    await api_session(hub).post("/api/v1/password-resets", {"email": EMAIL})
    reset = await smtp_server.find(EMAIL, "Reset")
    done = await api_session(hub).post(
        "/api/v1/password-resets/complete",
        {"token": token_in(reset), "password": NEW, "confirm": NEW},
    )
    assert done.status == 200, done
    for socket in sockets:
        assert await closed(socket) == (4401, "session_ended")


async def test_idle_expiry_closes_the_socket(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """A session that runs out while its dashboard is open has its socket closed with 4401
    session_expired at the next check; the check itself is not activity."""
    await register(api, smtp_server, EMAIL)
    await login(api, EMAIL)
    socket = await open_live(api)
    clock.advance(10 * 60)
    hub.live.check_expiry()  # not yet due: nothing happens
    assert await still_open(socket), "a message is activity: 15 more minutes"
    clock.advance(15 * 60 + 1)
    hub.live.check_expiry()  # what the hub runs every CHECK_SECONDS
    assert await closed(socket) == (4401, "session_expired")
    assert (await api.get("/api/v1/me")).error_code == "session_expired"


async def test_member_removal_closes_the_organizations_socket(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """A removed member's open dashboard socket of that organization is told and closed
    (4403 member_removed) at once."""
    org_id = await member(api, smtp_server, EMAIL, "Ana Novak")
    invited = await api.post(
        f"/api/v1/organizations/{org_id}/invitations", {"email": "bob@other.example"}
    )
    assert invited.status == 201, invited
    invitation = await smtp_server.find("bob@other.example", "invited")
    bob = api_session(hub)
    await member(bob, smtp_server, "bob@other.example", "Bob Smith")
    accepted = await bob.post("/api/v1/invitations/accept", {"token": token_in(invitation)})
    assert accepted.status == 200, accepted
    view = (await api.get(f"/api/v1/organizations/{org_id}")).json
    [bob_id] = [m["user_id"] for m in view["members"] if m["email"] == "bob@other.example"]
    socket = await open_live(bob, org=org_id)
    removed = await api.request("DELETE", f"/api/v1/organizations/{org_id}/members/{bob_id}")
    assert removed.status == 204
    message: Any = await socket.read_message()
    assert json.loads(message)["type"] == "access_revoked"
    assert await closed(socket) == (4403, "member_removed")


async def test_a_session_ends_12_hours_after_login_however_active(
    api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Without "Keep me logged in" a session used every 10 minutes still ends 12 hours after
    login, with session_expired."""
    await register(api, smtp_server, EMAIL)
    await login(api, EMAIL)
    for _ in range(6 * 12 - 1):
        clock.advance(10 * 60)
        assert (await api.get("/api/v1/me")).status == 200
    clock.advance(10 * 60 + 1)
    expired = await api.get("/api/v1/me")
    assert (expired.status, expired.error_code) == (401, "session_expired")


async def test_a_kept_session_ends_30_days_after_login_however_active(
    api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """With "Keep me logged in" a session used every day still ends 30 days after login."""
    await register(api, smtp_server, EMAIL)
    await login(api, EMAIL, keep=True)
    for _ in range(29):
        clock.advance(24 * 3600)
        assert (await api.get("/api/v1/me")).status == 200
    clock.advance(24 * 3600 + 1)
    assert (await api.get("/api/v1/me")).error_code == "session_expired"


async def test_settings_lists_sessions_and_ends_one(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """The list shows each session's device, IP and last use, this one first and marked; ending
    another one logs that browser out and closes its live socket at once."""
    other = await two_sessions(hub, api, smtp_server)
    listed = (await api.get("/api/v1/me/sessions")).json["sessions"]
    assert [s["current"] for s in listed] == [True, False]
    assert [s["device"] for s in listed] == ["pytest-client", "Chrome on Linux"]
    assert {s["ip"] for s in listed} == {"127.0.0.1"}
    assert all(s["last_seen"] and s["expires_at"] for s in listed)
    assert "id_hash" not in listed[0]
    theirs = await open_live(other)
    ended = await api.request("DELETE", f"/api/v1/me/sessions/{listed[1]['id']}")
    assert ended.status == 204, ended
    assert await closed(theirs) == (4401, "session_ended")
    assert (await other.get("/api/v1/me")).status == 401
    again = await api.request("DELETE", f"/api/v1/me/sessions/{listed[1]['id']}")
    assert again.status == 404
    assert [s["current"] for s in (await api.get("/api/v1/me/sessions")).json["sessions"]] == [True]


async def test_settings_ends_all_other_sessions(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """ "End all other sessions" ends every session but this one, and only another user's
    session list cannot be touched."""
    other = await two_sessions(hub, api, smtp_server)
    third = api_session(hub, user_agent="third")
    assert (await login(third, EMAIL)).status == 200
    mallory = api_session(hub)
    await register(mallory, smtp_server, "mallory@evil.example")
    await login(mallory, "mallory@evil.example")
    [ana_listed] = [
        s for s in (await api.get("/api/v1/me/sessions")).json["sessions"] if s["current"]
    ]
    foreign = await mallory.request("DELETE", f"/api/v1/me/sessions/{ana_listed['id']}")
    assert foreign.status == 404, "another user's session is not found"
    ended = await api.request("DELETE", "/api/v1/me/sessions")
    assert ended.json == {"ended": 2}
    assert (await other.get("/api/v1/me")).status == 401
    assert (await third.get("/api/v1/me")).status == 401
    assert (await api.get("/api/v1/me")).status == 200
    assert (await mallory.get("/api/v1/me")).status == 200


async def test_the_registry_checks_expiry_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once started, the registry rechecks, every CHECK_SECONDS, each socket whose session's
    end has come, and stops when the hub closes every socket."""
    monkeypatch.setattr(live, "CHECK_SECONDS", 0.01)
    clock = FakeClock()
    registry = live.LiveRegistry(clock)
    rechecked = asyncio.Event()

    class Due:
        user_id, id_hash = "u1", "h1"
        expires_at = clock.now() - timedelta(seconds=1)

        def recheck(self) -> None:
            rechecked.set()

        def close(self, code: int, reason: str) -> None:
            """What `close_all` calls at shutdown."""

    registry.add(Due())  # type: ignore[arg-type]
    registry.start_checks(asyncio.get_running_loop())
    async with asyncio.timeout(5):
        await rechecked.wait()
    registry.close_all()
    assert registry._timer is None
