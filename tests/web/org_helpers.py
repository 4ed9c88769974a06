"""Steps the organization tests share."""

from __future__ import annotations

from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import login, register


async def member(api: ApiSession, smtp: LoopbackSmtp, email: str, name: str) -> str:
    """Register, confirm and log in `email` ("Keep me logged in", so days can pass); returns
    the id of their first organization."""
    await register(api, smtp, email, name=name)
    result = await login(api, email, keep=True)
    assert result.status == 200, result
    orgs = (await api.get("/api/v1/organizations")).json
    return str(orgs["selected"])
