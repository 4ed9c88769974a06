"""2-step verification over the API: TOTP, backup codes, SMS codes, and guess limits."""

from __future__ import annotations

import asyncio

import pyotp

from mykerio.clock import FakeClock
from tests.api_client import ApiSession
from tests.conftest import api_session
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import enable_totp, login, register
from web.hub import Hub

EMAIL = "ana@acme.example"


async def two_step_user(api: ApiSession, smtp: LoopbackSmtp, clock: FakeClock) -> pyotp.TOTP:
    await register(api, smtp, EMAIL)
    await login(api, EMAIL)
    return await enable_totp(api, clock)


async def two_step_user_with_phone(
    api: ApiSession, smtp: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> None:
    """A logged-in user with an authenticator app and a verified backup phone."""
    await two_step_user(api, smtp, clock)
    await api.post("/api/v1/me/phone", {"phone": "+18005550199"})
    await sms_gateway.wait_for(1)
    await api.post("/api/v1/me/phone/verify", {"code": sms_gateway.last_code()})


async def test_enabling_2fa_emails_the_user_and_login_then_asks_for_a_code(
    api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """After enabling, the user is emailed and the next login needs a TOTP code."""
    authenticator = await two_step_user(api, smtp_server, clock)
    changed = await smtp_server.wait_for(2)
    assert changed[1]["Subject"] == "Your MyKerio sign-in settings changed"
    step = await login(api, EMAIL)
    assert step.json == {"status": "second_factor", "methods": ["totp", "backup"]}
    assert (await api.get("/api/v1/me")).status == 200, "the earlier session is still valid"
    clock.advance(30)
    done = await api.post(
        "/api/v1/sessions/second-factor", {"method": "totp", "code": authenticator.at(clock.now())}
    )
    assert done.status == 200, done
    assert done.json["status"] == "logged_in"


async def test_a_code_is_accepted_once(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """A TOTP code (or an older one) that worked once is refused in later logins."""
    authenticator = await two_step_user(api, smtp_server, clock)
    clock.advance(60)
    code = authenticator.at(clock.now())
    previous = authenticator.at(clock.now(), counter_offset=-1)
    await login(api, EMAIL)
    assert (
        await api.post("/api/v1/sessions/second-factor", {"method": "totp", "code": code})
    ).status == 200
    for replay in (code, previous):
        again = api_session(hub)
        await login(again, EMAIL)
        refused = await again.post(
            "/api/v1/sessions/second-factor", {"method": "totp", "code": replay}
        )
        assert refused.status == 401
        assert refused.error_code == "wrong_code"


async def test_previous_step_accepted_but_not_older(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """The code of the previous 30 s step works; one from two steps back does not."""
    authenticator = await two_step_user(api, smtp_server, clock)
    clock.advance(300)
    second = api_session(hub)
    await login(second, EMAIL)
    old = authenticator.at(clock.now(), counter_offset=-2)
    assert (
        await second.post("/api/v1/sessions/second-factor", {"method": "totp", "code": old})
    ).status == 401
    late = authenticator.at(clock.now(), counter_offset=-1)
    assert (
        await second.post("/api/v1/sessions/second-factor", {"method": "totp", "code": late})
    ).status == 200


async def test_twenty_simultaneous_logins_with_one_code_let_exactly_one_in(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """20 logins submitting the same code at the same moment: exactly one succeeds."""
    authenticator = await two_step_user(api, smtp_server, clock)
    clock.advance(60)
    clients = [api_session(hub, user_agent=f"racer-{n}") for n in range(20)]
    for client in clients:
        assert (await login(client, EMAIL)).json["status"] == "second_factor"
    code = authenticator.at(clock.now())
    results = await asyncio.gather(
        *(
            c.post("/api/v1/sessions/second-factor", {"method": "totp", "code": code})
            for c in clients
        )
    )
    statuses = [r.status for r in results]
    assert statuses.count(200) == 1
    # The losers are refused as wrong codes; past 10 refusals, the account throttle answers.
    assert set(statuses) - {200} <= {401, 429}


async def test_backup_codes_work_once_and_a_new_set_voids_the_old(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Each backup code logs in once; generating a new set makes the old codes fail."""
    await two_step_user(api, smtp_server, clock)
    codes = (await api.post("/api/v1/me/backup-codes", {"password": "Tulip-Harbour-42"})).json[
        "codes"
    ]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    first = api_session(hub)
    await login(first, EMAIL)
    assert (
        await first.post("/api/v1/sessions/second-factor", {"method": "backup", "code": codes[0]})
    ).status == 200
    second = api_session(hub)
    await login(second, EMAIL)
    reused = await second.post(
        "/api/v1/sessions/second-factor", {"method": "backup", "code": codes[0]}
    )
    assert reused.status == 401
    fresh = (await api.post("/api/v1/me/backup-codes", {"password": "Tulip-Harbour-42"})).json[
        "codes"
    ]
    voided = await second.post(
        "/api/v1/sessions/second-factor", {"method": "backup", "code": codes[1]}
    )
    assert voided.status == 401
    assert (
        await second.post(
            "/api/v1/sessions/second-factor", {"method": "backup", "code": fresh[0].upper()}
        )
    ).status == 200


async def test_backup_phone_is_verified_and_texts_login_codes(
    hub: Hub,
    api: ApiSession,
    smtp_server: LoopbackSmtp,
    sms_gateway: LoopbackSmsGateway,
    clock: FakeClock,
) -> None:
    """A phone is saved only with the texted code; then login can use an SMS code, once."""
    await two_step_user(api, smtp_server, clock)
    for bad_number in ("777 338 901", "+99912345678", "+1 000 000 0000"):
        bad = await api.post("/api/v1/me/phone", {"phone": bad_number})
        assert bad.status == 400, bad_number
        assert bad.json["error"]["field"] == "phone"
    assert sms_gateway.messages == [], "no text goes to a number that is not in use"
    sent = await api.post("/api/v1/me/phone", {"phone": "+420 377 338 901"})
    assert sent.status == 200, sent
    [message] = await sms_gateway.wait_for(1)
    assert message["to"] == "+420377338901"
    wrong = await api.post("/api/v1/me/phone/verify", {"code": "000000"})
    assert wrong.status == 400
    assert (
        await api.post("/api/v1/me/phone/verify", {"code": sms_gateway.last_code()})
    ).status == 204
    assert (await api.get("/api/v1/me")).json["phone"].endswith("901")

    other = api_session(hub)
    step = await login(other, EMAIL)
    assert step.json["methods"] == ["totp", "backup", "sms"]
    assert (await other.post("/api/v1/sessions/sms")).status == 200
    await sms_gateway.wait_for(2)
    code = sms_gateway.last_code()
    assert (
        await other.post("/api/v1/sessions/second-factor", {"method": "sms", "code": code})
    ).status == 200
    replay = api_session(hub)
    await login(replay, EMAIL)
    assert (
        await replay.post("/api/v1/sessions/second-factor", {"method": "sms", "code": code})
    ).status == 401


async def test_at_most_three_texts_per_15_minutes(
    hub: Hub,
    api: ApiSession,
    smtp_server: LoopbackSmtp,
    sms_gateway: LoopbackSmsGateway,
    clock: FakeClock,
) -> None:
    """A fourth SMS within 15 minutes is refused with 429; later it works again."""
    await two_step_user_with_phone(api, smtp_server, sms_gateway, clock)
    other = api_session(hub)
    await login(other, EMAIL)
    assert (await other.post("/api/v1/sessions/sms")).status == 200
    assert (await other.post("/api/v1/sessions/sms")).status == 200
    refused = await other.post("/api/v1/sessions/sms")
    assert refused.status == 429, "the phone's verification text counts too"
    clock.advance(15 * 60 + 1)
    await login(other, EMAIL)
    assert (await other.post("/api/v1/sessions/sms")).status == 200


async def test_five_wrong_codes_end_the_login_attempt(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """After 5 guesses the login attempt is gone, even for the right code."""
    authenticator = await two_step_user(api, smtp_server, clock)
    clock.advance(60)
    other = api_session(hub)
    await login(other, EMAIL)
    for _ in range(5):
        assert (
            await other.post(
                "/api/v1/sessions/second-factor", {"method": "backup", "code": "aaaaa-bbbbb"}
            )
        ).status == 401
    late = await other.post(
        "/api/v1/sessions/second-factor", {"method": "totp", "code": authenticator.at(clock.now())}
    )
    assert late.error_code == "login_expired"


async def test_ten_wrong_codes_per_account_are_throttled(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Across login attempts, 10 wrong codes in 15 minutes lock code entry with 429."""
    authenticator = await two_step_user(api, smtp_server, clock)
    clock.advance(60)
    other = api_session(hub)
    for _ in range(2):
        await login(other, EMAIL)
        for _ in range(5):
            await other.post("/api/v1/sessions/second-factor", {"method": "totp", "code": "000000"})
    await login(other, EMAIL)
    locked = await other.post(
        "/api/v1/sessions/second-factor", {"method": "totp", "code": authenticator.at(clock.now())}
    )
    assert locked.status == 429
    assert "Retry-After" in locked.headers


async def test_disabling_needs_the_password(
    api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """2-step verification turns off only with the right password; login then needs no code."""
    await two_step_user(api, smtp_server, clock)
    wrong = await api.post("/api/v1/me/totp/disable", {"password": "Nope-nope-1"})
    assert wrong.status == 400
    assert (
        await api.post("/api/v1/me/totp/disable", {"password": "Tulip-Harbour-42"})
    ).status == 204
    assert (await login(api, EMAIL)).json["status"] == "logged_in"
    subjects = [m["Subject"] for m in await smtp_server.wait_for(3)]
    assert subjects.count("Your MyKerio sign-in settings changed") == 2


async def test_no_login_text_while_code_entry_is_locked(
    hub: Hub,
    api: ApiSession,
    smtp_server: LoopbackSmtp,
    sms_gateway: LoopbackSmsGateway,
    clock: FakeClock,
) -> None:
    """While code entry is locked, asking for an SMS code texts nothing and names the wait."""
    await two_step_user_with_phone(api, smtp_server, sms_gateway, clock)
    clock.advance(60)
    other = api_session(hub)
    for _ in range(2):
        await login(other, EMAIL)
        for _ in range(5):
            await other.post("/api/v1/sessions/second-factor", {"method": "totp", "code": "000000"})
    await login(other, EMAIL)
    refused = await other.post("/api/v1/sessions/sms")
    assert refused.status == 429, refused
    # The guess that enabled 2-step verification a minute earlier counts too: 14 minutes left.
    assert refused.json["error"]["message"] == "Too many attempts. Try again in 14 minutes."
    phone = await api.post("/api/v1/me/phone", {"phone": "+420 377 338 901"})
    assert phone.status == 429, "no verification text for a new phone either"
    clock.advance(14 * 60 + 30)
    await login(other, EMAIL)
    last = await other.post("/api/v1/sessions/sms")
    assert last.status == 429
    assert last.json["error"]["message"] == "Too many attempts. Try again in 1 minute."
    assert len(sms_gateway.messages) == 1, "only the phone's own verification text was sent"


async def test_an_empty_password_is_reported_as_required_not_wrong(
    api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """New backup codes, disabling and removing the phone with no password say it is required."""
    await two_step_user(api, smtp_server, clock)
    for path in ("/api/v1/me/backup-codes", "/api/v1/me/totp/disable", "/api/v1/me/phone/remove"):
        empty = await api.post(path, {"password": ""})
        assert empty.status == 400, path
        assert empty.json["error"]["field"] == "password"
        assert empty.json["error"]["message"] == "The password is required.", path


async def test_adding_a_factor_needs_the_password_five_minutes_after_login(
    api: ApiSession,
    smtp_server: LoopbackSmtp,
    sms_gateway: LoopbackSmsGateway,
    clock: FakeClock,
) -> None:
    """More than 5 minutes after login, enrolling the app or a phone needs the password; a
    right one counts as a fresh proof for the next 5 minutes, and the notice email still goes."""
    await register(api, smtp_server, EMAIL)
    await login(api, EMAIL)
    clock.advance(5 * 60 + 1)
    bare = await api.post("/api/v1/me/totp/setup", {})
    assert bare.status == 400, bare
    assert bare.json["error"]["field"] == "password"
    assert bare.json["error"]["message"] == "Enter your password to confirm this change."
    wrong = await api.post("/api/v1/me/totp/setup", {"password": "Nope-nope-1"})
    assert (wrong.status, wrong.json["error"]["message"]) == (400, "The password is wrong.")
    setup = await api.post("/api/v1/me/totp/setup", {"password": "Tulip-Harbour-42"})
    assert setup.status == 200, setup
    code = pyotp.TOTP(setup.json["secret"]).at(clock.now())
    assert (await api.post("/api/v1/me/totp", {"code": code})).status == 204
    notice = await smtp_server.find(EMAIL, "sign-in settings changed")
    assert "2-step verification was turned on" in str(notice.get_body(("plain",)))
    clock.advance(4 * 60)
    assert (await api.post("/api/v1/me/phone", {"phone": "+420 377 338 901"})).status == 200
    await sms_gateway.wait_for(1)
    clock.advance(60 + 1)
    phone = await api.post("/api/v1/me/phone", {"phone": "+420 377 338 901"})
    assert (phone.status, phone.json["error"]["field"]) == (400, "password")
    assert len(sms_gateway.messages) == 1, "no text before the password is confirmed"
    with_password = await api.post(
        "/api/v1/me/phone", {"phone": "+420 377 338 901", "password": "Tulip-Harbour-42"}
    )
    assert with_password.status == 200, with_password


async def test_removing_factors_always_needs_the_password(
    api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Right after login (a fresh proof), disabling the app and new backup codes still need
    the password itself."""
    await two_step_user(api, smtp_server, clock)
    for path in ("/api/v1/me/backup-codes", "/api/v1/me/totp/disable"):
        refused = await api.post(path, {})
        assert (refused.status, refused.json["error"]["field"]) == (400, "password"), path
    assert (await api.get("/api/v1/me")).json["two_step"] is True
