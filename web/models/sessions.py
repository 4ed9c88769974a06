"""Bodies of logging in (password, then a second factor), SMS login codes and the CSRF token."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, RootModel

from web.models.base import RequestModel, ResponseModel

# `mykerio.accounts.login.METHODS` (tests/web/test_http_models.py keeps the two equal).
Method = Literal["totp", "backup", "sms"]


class LoginRequest(RequestModel):
    """The password step."""

    email: str
    password: str
    keep_logged_in: bool = Field(False, description="A cookie that outlives the browser")


class SecondFactorRequest(RequestModel):
    """The code step: a code from the authenticator app, a backup code or a texted code."""

    method: Method
    code: str


class SessionUser(ResponseModel):
    """Who logged in."""

    email: str


class LoggedIn(ResponseModel):
    """The session cookie is set."""

    status: Literal["logged_in"] = "logged_in"
    user: SessionUser


class SecondFactorNeeded(ResponseModel):
    """The password was right; a second factor (one of `methods`) finishes the login."""

    status: Literal["second_factor"] = "second_factor"
    methods: list[Method]


_Step = Annotated[LoggedIn | SecondFactorNeeded, Field(discriminator="status")]


class LoginAnswer(RootModel[_Step]):
    """Logged in, or a second factor is needed."""


class CsrfToken(ResponseModel):
    """Send as X-XSRFToken with every state-changing request."""

    csrf_token: str
