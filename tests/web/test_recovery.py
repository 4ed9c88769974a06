"""Password change and reset over the API."""

from __future__ import annotations

from mykerio.clock import FakeClock
from tests.api_client import ApiSession
from tests.conftest import api_session
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import PASSWORD, login, register, token_in
from web.hub import Hub

EMAIL = "ana@acme.example"
NEW = "Granite-Meadow-77"


async def test_change_password_needs_the_current_one_and_ends_other_sessions(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """A wrong current password is refused; a change logs out other sessions, not this one."""
    await register(api, smtp_server, EMAIL)
    await login(api, EMAIL)
    elsewhere = api_session(hub)
    await login(elsewhere, EMAIL)
    wrong = await api.post(
        "/api/v1/me/password", {"current": "Nope-nope-1", "password": NEW, "confirm": NEW}
    )
    assert (wrong.status, wrong.json["error"]["field"]) == (400, "current")
    mismatch = await api.post(
        "/api/v1/me/password", {"current": PASSWORD, "password": NEW, "confirm": NEW + "x"}
    )
    assert mismatch.json["error"]["field"] == "confirm"
    changed = await api.post(
        "/api/v1/me/password", {"current": PASSWORD, "password": NEW, "confirm": NEW}
    )
    assert changed.status == 204
    assert (await api.get("/api/v1/me")).status == 200
    assert (await elsewhere.get("/api/v1/me")).status == 401
    assert (await login(api, EMAIL, PASSWORD)).status == 401
    assert (await login(api, EMAIL, NEW)).status == 200


async def test_forgot_password_answers_the_same_for_any_address(
    api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Known and unknown addresses get the same answer; only the known one gets an email."""
    await register(api, smtp_server, EMAIL)
    known = await api.post("/api/v1/password-resets", {"email": EMAIL})
    unknown = await api.post("/api/v1/password-resets", {"email": "nobody@acme.example"})
    assert (known.status, known.json) == (unknown.status, unknown.json)
    messages = await smtp_server.wait_for(2)
    assert [m["Subject"] for m in messages] == [
        "Confirm your MyKerio account",
        "Reset your MyKerio password",
    ]


async def test_reset_link_works_once_and_ends_every_session(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """The reset link sets a new password once; all sessions end; the old password fails."""
    await register(api, smtp_server, EMAIL)
    await login(api, EMAIL)
    await api.post("/api/v1/password-resets", {"email": EMAIL})
    token = token_in((await smtp_server.wait_for(2))[1])
    visitor = api_session(hub)
    mismatch = await visitor.post(
        "/api/v1/password-resets/complete", {"token": token, "password": NEW, "confirm": "x"}
    )
    assert mismatch.status == 400, "a typo does not use up the link"
    done = await visitor.post(
        "/api/v1/password-resets/complete", {"token": token, "password": NEW, "confirm": NEW}
    )
    assert done.status == 200
    again = await visitor.post(
        "/api/v1/password-resets/complete", {"token": token, "password": NEW, "confirm": NEW}
    )
    assert again.status == 400
    assert (await api.get("/api/v1/me")).status == 401
    assert (await login(visitor, EMAIL, PASSWORD)).status == 401
    assert (await login(visitor, EMAIL, NEW)).status == 200


async def test_reset_link_expires_after_an_hour(
    api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """A reset link older than one hour is refused."""
    await register(api, smtp_server, EMAIL)
    await api.post("/api/v1/password-resets", {"email": EMAIL})
    token = token_in((await smtp_server.wait_for(2))[1])
    clock.advance(3601)
    late = await api.post(
        "/api/v1/password-resets/complete", {"token": token, "password": NEW, "confirm": NEW}
    )
    assert late.status == 400


async def test_a_new_reset_link_voids_the_previous_one(
    api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Asking again makes the earlier link stop working."""
    await register(api, smtp_server, EMAIL)
    await api.post("/api/v1/password-resets", {"email": EMAIL})
    await api.post("/api/v1/password-resets", {"email": EMAIL})
    messages = await smtp_server.wait_for(3)
    old, new = token_in(messages[1]), token_in(messages[2])
    body = {"password": NEW, "confirm": NEW}
    assert (
        await api.post("/api/v1/password-resets/complete", {"token": old, **body})
    ).status == 400
    assert (
        await api.post("/api/v1/password-resets/complete", {"token": new, **body})
    ).status == 200


async def test_checking_a_reset_link_does_not_use_it(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """The reset page's check answers 200 for a live link (which then still works) and 400 for
    a used, an expired or a made-up one."""
    await register(api, smtp_server, EMAIL)
    await api.post("/api/v1/password-resets", {"email": EMAIL})
    token = token_in((await smtp_server.wait_for(2))[1])
    visitor = api_session(hub)
    for _ in range(2):
        assert (await visitor.post("/api/v1/password-resets/check", {"token": token})).status == 200
    body = {"token": token, "password": NEW, "confirm": NEW}
    assert (await visitor.post("/api/v1/password-resets/complete", body)).status == 200
    used = await visitor.post("/api/v1/password-resets/check", {"token": token})
    assert used.status == 400
    assert used.json["error"]["message"] == (
        "This reset link is not valid any more. Ask for a new one."
    )
    assert (await visitor.post("/api/v1/password-resets/check", {"token": ""})).status == 400
    await api.post("/api/v1/password-resets", {"email": EMAIL})
    late = token_in((await smtp_server.wait_for(4))[3])
    clock.advance(3601)
    assert (await visitor.post("/api/v1/password-resets/check", {"token": late})).status == 400
