"""Registration, email confirmation, password rules and cookies, over the JSON API."""

from __future__ import annotations

import pytest

from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import PASSWORD, login, register, token_in
from web.hub import Hub


async def test_register_confirm_and_log_in(api: ApiSession, smtp_server: LoopbackSmtp) -> None:
    """A new user gets a confirmation email, confirms, logs in, and owns an org named after
    their domain."""
    registered = await register(api, smtp_server, "ana@acme.example")
    assert registered == {"message": "We sent a confirmation link to ana@acme.example."}
    result = await login(api, "ana@acme.example")
    assert result.status == 200, result
    assert result.json["status"] == "logged_in"
    me = await api.get("/api/v1/me")
    assert me.json["email"] == "ana@acme.example"
    assert me.json["full_name"] == "Ana Novak"
    orgs = (await api.get("/api/v1/organizations")).json["organizations"]
    assert [org["name"] for org in orgs] == ["acme.example"]


async def test_unconfirmed_account_cannot_log_in_and_can_get_a_new_link(
    api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Before confirming, login is refused; a resent link works and the old one does not."""
    await register(api, smtp_server, "bo@acme.example", confirm=False)
    refused = await login(api, "bo@acme.example")
    assert refused.status == 403
    assert refused.error_code == "email_not_confirmed"
    old_token = token_in(smtp_server.messages[-1])
    resent = await api.post("/api/v1/registrations/resend", {"email": "bo@acme.example"})
    assert resent.status == 202
    [_, new_mail] = await smtp_server.wait_for(2)
    stale = await api.post("/api/v1/registrations/confirm", {"token": old_token})
    assert stale.status == 400
    fresh = await api.post("/api/v1/registrations/confirm", {"token": token_in(new_mail)})
    assert fresh.status == 200
    assert (await login(api, "bo@acme.example")).status == 200
    again = await api.post("/api/v1/registrations/confirm", {"token": token_in(new_mail)})
    assert again.status == 400, "a confirmation link works once"


async def test_resend_answers_the_same_for_unknown_addresses(
    api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Asking for a new link for an unknown address answers exactly like a known one."""
    await register(api, smtp_server, "cy@acme.example", confirm=False)
    known = await api.post("/api/v1/registrations/resend", {"email": "cy@acme.example"})
    unknown = await api.post("/api/v1/registrations/resend", {"email": "nobody@acme.example"})
    assert (known.status, known.json) == (unknown.status, unknown.json)


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Ab1!", "length"),
        ("alllowercase", "groups"),
        ("Novak-2024-x", "personal"),
        ("Acme.example1", "personal"),
        ("Password1", "common"),
        ("Password123!", "common"),
        ("MyKerio2026!", "common"),
        ("Aa1!" * 257, "max_length"),
    ],
)
async def test_password_rules_say_which_rule_failed(
    api: ApiSession, password: str, rule: str
) -> None:
    """A password breaking a rule is refused with that rule named, and nothing is stored."""
    result = await api.post(
        "/api/v1/registrations",
        {"full_name": "Ana Novak", "email": "ana@acme.example", "password": password},
    )
    assert result.status == 400, result
    assert result.json["error"]["field"] == "password"
    assert result.json["error"]["rule"] == rule
    retry = await api.post(
        "/api/v1/registrations",
        {"full_name": "Ana Novak", "email": "ana@acme.example", "password": PASSWORD},
    )
    assert retry.status == 201, "the refused attempt left no account behind"


async def test_live_rules_report_each_rule(api: ApiSession) -> None:
    """The checklist endpoint reports every rule as met or not met."""
    result = await api.post(
        "/api/v1/password-rules",
        {"password": "novak", "full_name": "Ana Novak", "email": "ana@acme.example"},
    )
    met = {rule["rule"]: rule["met"] for rule in result.json["rules"]}
    assert met["length"] is False
    assert met["personal"] is False
    strong = await api.post(
        "/api/v1/password-rules",
        {"password": PASSWORD, "full_name": "Ana Novak", "email": "ana@acme.example"},
    )
    assert all(rule["met"] for rule in strong.json["rules"])


async def test_long_password_is_verified_in_full(
    api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """A 100-character password only works whole: changing its last character fails."""
    password = "Zebra-" + "q7" * 46 + "Xy"
    assert len(password) == 100
    await register(api, smtp_server, "dee@acme.example", password=password)
    assert (await login(api, "dee@acme.example", password[:-1] + "z")).status == 401
    assert (await login(api, "dee@acme.example", password)).status == 200


async def test_registering_a_taken_address_reveals_nothing(
    api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Registering an existing address (in any letter case) answers exactly like a new one;
    the owner is emailed instead and their account is untouched."""
    await register(api, smtp_server, "eve@acme.example")
    again = await api.post(
        "/api/v1/registrations",
        {"full_name": "Mallory", "email": "EVE@acme.example", "password": "Other-Pass-99"},
    )
    fresh = await api.post(
        "/api/v1/registrations",
        {"full_name": "Fay", "email": "fay@acme.example", "password": PASSWORD},
    )
    assert again.status == fresh.status == 201
    assert again.json["message"].replace("EVE", "eve") == fresh.json["message"].replace(
        "fay", "eve"
    )
    messages = await smtp_server.wait_for(3)
    notice = next(m for m in messages if m["Subject"] == "Your MyKerio account already exists")
    assert notice["To"] == "eve@acme.example"
    assert (await login(api, "eve@acme.example")).status == 200
    assert (await login(api, "eve@acme.example", "Other-Pass-99")).status == 401


async def test_addresses_that_could_add_recipients_are_refused(api: ApiSession) -> None:
    """An address with a comma, quotes or angle brackets is refused before any email is sent."""
    for address in ("x,victim@acme.example", '"x"@acme.example', "x<y>@acme.example"):
        result = await api.post(
            "/api/v1/registrations",
            {"full_name": "X", "email": address, "password": PASSWORD},
        )
        assert result.status == 400
        assert result.json["error"]["field"] == "email"


async def test_session_cookie_flags(api: ApiSession, smtp_server: LoopbackSmtp) -> None:
    """The session cookie is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, without Domain;
    it persists only with "Keep me logged in"."""
    await register(api, smtp_server, "flo@acme.example")
    await login(api, "flo@acme.example")
    cookie = next(h for h in api.set_cookie_headers if h.startswith("__Host-mk_session="))
    parts = [part.strip().lower() for part in cookie.split(";")]
    assert "secure" in parts
    assert "httponly" in parts
    assert "samesite=lax" in parts
    assert "path=/" in parts
    assert not any(part.startswith("domain") for part in parts)
    assert not any(part.startswith(("expires", "max-age")) for part in parts)
    await login(api, "flo@acme.example", keep=True)
    kept = [h for h in api.set_cookie_headers if h.startswith("__Host-mk_session=")][-1]
    assert "expires=" in kept.lower()


async def test_state_changes_need_the_csrf_token(api: ApiSession) -> None:
    """A POST without the CSRF token is refused before anything happens."""
    result = await api.request(
        "POST",
        "/api/v1/registrations",
        {"full_name": "Ann", "email": "x@acme.example", "password": PASSWORD},
        csrf=False,
    )
    assert result.status == 403
    assert result.error_code == "csrf_failed"


async def test_openapi_lists_the_account_routes(hub: Hub, api: ApiSession) -> None:
    """The account API is described in the OpenAPI document."""
    document = (await api.get("/api/v1/openapi.json")).json
    for path in ("/api/v1/sessions", "/api/v1/registrations", "/api/v1/me/totp", "/api/v1/audit"):
        assert path in document["paths"]
