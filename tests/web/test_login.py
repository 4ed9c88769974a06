"""Logging in: sessions and their expiry, logout, throttling and uniform answers."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from mykerio.clock import FakeClock
from tests.api_client import ApiSession
from tests.conftest import api_session
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import PASSWORD, login, register
from web.hub import Hub


async def test_idle_session_ends_after_15_minutes(
    api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Without "Keep me logged in", 15 idle minutes end the session with session_expired."""
    await register(api, smtp_server, "ana@acme.example")
    await login(api, "ana@acme.example")
    clock.advance(14 * 60)
    assert (await api.get("/api/v1/me")).status == 200, "activity keeps it alive"
    clock.advance(14 * 60)
    assert (await api.get("/api/v1/me")).status == 200
    clock.advance(15 * 60 + 1)
    expired = await api.get("/api/v1/me")
    assert expired.status == 401
    assert expired.error_code == "session_expired"


async def test_expired_session_sends_pages_to_login_with_a_message(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """A page opened after the session expired redirects to the login page that says so."""
    await register(api, smtp_server, "ana@acme.example")
    await login(api, "ana@acme.example")
    clock.advance(16 * 60)
    page = await api.get("/settings")
    assert page.status == 302
    assert page.headers["Location"] == "/login?expired=1"
    shown = await api.get("/login?expired=1")
    assert b"Your session has expired" in shown.raw


async def test_keep_me_logged_in_lasts_30_days(
    api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """With "Keep me logged in" an idle day is fine; after 30 days the session ends."""
    await register(api, smtp_server, "ana@acme.example")
    await login(api, "ana@acme.example", keep=True)
    clock.advance(24 * 3600)
    assert (await api.get("/api/v1/me")).status == 200
    clock.advance(29 * 24 * 3600 + 60)
    assert (await api.get("/api/v1/me")).error_code == "session_expired"


async def test_logout_revokes_the_session_on_the_server(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """After logout, a copy of the old cookie no longer works."""
    await register(api, smtp_server, "ana@acme.example")
    await login(api, "ana@acme.example")
    stolen = dict(api.cookies)
    assert (await api.request("DELETE", "/api/v1/sessions")).status == 204
    thief = api_session(hub)
    thief.cookies.update(stolen)
    assert (await thief.get("/api/v1/me")).status == 401


async def test_login_gets_a_new_session_id_each_time(
    api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Each login issues a new session id (no fixation)."""
    await register(api, smtp_server, "ana@acme.example")
    await login(api, "ana@acme.example")
    first = api.cookies["__Host-mk_session"]
    await login(api, "ana@acme.example")
    assert api.cookies["__Host-mk_session"] != first


async def test_ten_failures_lock_the_account_even_for_the_right_password(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """10 failed logins within 15 minutes give 429 with Retry-After, also for the right
    password and from another client; after the window the right password works."""
    await register(api, smtp_server, "ana@acme.example")
    for _ in range(10):
        assert (await login(api, "ana@acme.example", "Wrong-pass-1")).status == 401
    other = api_session(hub, user_agent="another-browser")
    locked = await login(other, "ana@acme.example", PASSWORD)
    assert locked.status == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 15 * 60
    clock.advance(15 * 60 + 1)
    assert (await login(other, "ana@acme.example", PASSWORD)).status == 200


async def test_success_resets_the_failure_count(api: ApiSession, smtp_server: LoopbackSmtp) -> None:
    """A successful login starts the failure count over."""
    await register(api, smtp_server, "ana@acme.example")
    for _ in range(9):
        await login(api, "ana@acme.example", "Wrong-pass-1")
    assert (await login(api, "ana@acme.example")).status == 200
    for _ in range(9):
        assert (await login(api, "ana@acme.example", "Wrong-pass-1")).status == 401
    assert (await login(api, "ana@acme.example")).status == 200


async def test_unknown_accounts_get_the_same_answers(
    api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """An unknown address gets the same status and body as a wrong password, also the 429."""
    await register(api, smtp_server, "ana@acme.example")
    wrong = await login(api, "ana@acme.example", "Wrong-pass-1")
    unknown = await login(api, "nobody@acme.example", "Wrong-pass-1")
    assert wrong.status == unknown.status == 401

    def shape(result: object) -> dict[str, object]:
        error = dict(result.json["error"])  # type: ignore[attr-defined]
        error.pop("request_id")
        return error

    assert shape(wrong) == shape(unknown)
    for _ in range(10):
        await login(api, "nobody@acme.example", "Wrong-pass-1")
    locked = await login(api, "nobody@acme.example", "Wrong-pass-1")
    assert locked.status == 429


async def test_unknown_accounts_take_as_long_as_wrong_passwords(
    api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """An unknown address costs a password hash too, so timing does not reveal accounts."""
    await register(api, smtp_server, "ana@acme.example")

    async def timed(email: str, n: int) -> float:
        start = time.perf_counter()
        await login(api, f"{email}", f"Wrong-pass-{n}")
        return time.perf_counter() - start

    wrong = [await timed("ana@acme.example", n) for n in range(4)]
    unknown = [await timed(f"nobody{n}@acme.example", n) for n in range(4)]
    # Noise only makes a request slower, so the fastest unknown-account answer must still
    # include a full hash: at least half the typical wrong-password answer.
    assert min(unknown) > 0.5 * statistics.median(wrong), (wrong, unknown)


async def test_revoked_session_is_refused_on_the_websocket(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """The live socket opens with a valid session, refuses a revoked one, and closes an open
    socket whose session was revoked elsewhere."""
    await register(api, smtp_server, "ana@acme.example")
    await login(api, "ana@acme.example")
    cookies = dict(api.cookies)
    socket = await open_live(hub, api, cookies)
    hello = json.loads(await socket.read_message())
    assert hello == {"type": "hello", "user": "ana@acme.example", "org": ""}
    await api.request("DELETE", "/api/v1/sessions")
    await socket.write_message(json.dumps({"type": "ping"}))
    assert await socket.read_message() is None
    socket.close()
    assert socket.close_code == 4401
    with pytest.raises(HTTPClientError) as refused:
        await open_live(hub, api, cookies)
    assert refused.value.code == 401


async def open_live(hub: Hub, api: ApiSession, cookies: dict[str, str]) -> Any:
    request = HTTPRequest(
        hub.url.replace("https://", "wss://") + "/api/v1/live",
        headers={
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "Origin": hub.url,
        },
        ssl_options=api.ssl,
    )
    return await websocket_connect(request)
