"""Steps the account tests share: register and confirm through real email, enable 2FA."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp

from mykerio.clock import FakeClock
from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp

PASSWORD = "Tulip-Harbour-42"


def link_in(message: Any) -> str:
    """The first https link in an email's plain-text body."""
    body = message.get_body(("plain",)).get_content()
    match = re.search(r"https://\S+", body)
    assert match, body
    return match.group(0)


def token_in(message: Any) -> str:
    """The token in the fragment of the email's link (it never reaches the server's logs)."""
    return parse_qs(urlparse(link_in(message)).fragment)["token"][0]


async def register(
    api: ApiSession,
    smtp: LoopbackSmtp,
    email: str,
    *,
    name: str = "Ana Novak",
    password: str = PASSWORD,
    confirm: bool = True,
) -> dict[str, Any]:
    """Register `email`; confirm it through the emailed link unless told not to."""
    before = len(smtp.messages)
    result = await api.post(
        "/api/v1/registrations", {"full_name": name, "email": email, "password": password}
    )
    assert result.status == 201, result
    # Another test step's mail (an invitation, say) may still be on its way: take this one's.
    mail = await smtp.find_since(before, email, "Confirm your MyKerio account")
    assert mail["Subject"] == "Confirm your MyKerio account"
    if confirm:
        confirmed = await api.post("/api/v1/registrations/confirm", {"token": token_in(mail)})
        assert confirmed.status == 200, confirmed
    return dict(result.json)


async def login(
    api: ApiSession, email: str, password: str = PASSWORD, *, keep: bool = False
) -> Any:
    """The password step; returns the result."""
    return await api.post(
        "/api/v1/sessions", {"email": email, "password": password, "keep_logged_in": keep}
    )


async def enable_totp(api: ApiSession, clock: FakeClock) -> pyotp.TOTP:
    """Turn on 2-step verification for the logged-in user; returns the authenticator."""
    setup = await api.post("/api/v1/me/totp/setup")
    assert setup.status == 200, setup
    assert setup.json["qr_svg"].lstrip().startswith("<?xml") or "<svg" in setup.json["qr_svg"]
    authenticator = pyotp.TOTP(setup.json["secret"])
    enabled = await api.post("/api/v1/me/totp", {"code": authenticator.at(clock.now())})
    assert enabled.status == 204, enabled
    return authenticator
