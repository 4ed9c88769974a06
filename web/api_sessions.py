"""API: logging in (password, then a second factor), SMS login codes, logging out, CSRF."""

from __future__ import annotations

from actors.accounts import AccountsActor
from mykerio.accounts.login import LoginStep
from mykerio.errors import Unauthorized
from web.api_accounts import text
from web.auth import LOGIN_COOKIE, AccountHandler
from web.models.base import Sent
from web.models.sessions import (
    CsrfToken,
    LoggedIn,
    LoginAnswer,
    LoginRequest,
    SecondFactorNeeded,
    SecondFactorRequest,
    SessionUser,
)
from web.openapi import Answer, Operation

TAG = "sessions"


class CsrfHandler(AccountHandler):
    """Hands API clients the CSRF token (and sets its cookie)."""

    openapi = {
        "get": Operation(
            "The CSRF token to send as X-XSRFToken with every state-changing request",
            TAG,
            {200: Answer("Token", CsrfToken)},
        )
    }

    def get(self) -> None:
        """The token; the matching cookie is set on the response."""
        self.write_model(CsrfToken(csrf_token=self.xsrf_token.decode()))


class SessionsHandler(AccountHandler):
    """POST logs in with email and password; DELETE logs out."""

    openapi = {
        "post": Operation(
            "Log in. Answers `status: logged_in`, or `status: second_factor` with the methods "
            "the account offers; 429 with Retry-After after 10 failures in 15 minutes",
            TAG,
            {200: Answer("Logged in, or a second factor is needed", LoginAnswer)},
            {401: "Wrong email or password", 429: "Too many failed logins"},
            body=LoginRequest,
        ),
        "delete": Operation(
            "Log out: the session ends on the server", TAG, {204: Answer("Logged out")}
        ),
    }

    async def post(self) -> None:
        """The password step."""
        # A dict, so that the call below reads it as it always did.
        body = self.body(LoginRequest).model_dump()
        email, password = text(body, "email"), text(body, "password")
        step: LoginStep = await self.call(
            email,
            AccountsActor.login,
            email,
            password,
            bool(body.get("keep_logged_in")),
            self.client,
        )
        if step.session_token:
            self.start_session(step.session_token, step.persistent)
            self.write_model(LoggedIn(user=SessionUser(email=step.user.email)))
            return
        self.remember_login(step.attempt_token)
        self.write_model(SecondFactorNeeded.model_validate({"methods": step.methods}))

    async def delete(self) -> None:
        """End the current session."""
        token = self.session_token()
        if token:
            await self.call(token, AccountsActor.logout, token, self.client)
        self.end_session()
        self.set_status(204)
        self.finish()


class SecondFactorHandler(AccountHandler):
    """Finishes a login with a TOTP, backup or SMS code."""

    openapi = {
        "post": Operation(
            "Finish a login with a code: method is totp, backup or sms. A new session id is "
            "issued; 5 guesses per login, 10 per account per 15 minutes",
            TAG,
            {200: Answer("Logged in", LoggedIn)},
            {401: "Wrong code or expired login", 429: "Too many wrong codes"},
            body=SecondFactorRequest,
        )
    }

    async def post(self) -> None:
        """The code step."""
        body = self.body(SecondFactorRequest)
        attempt = self.get_cookie(LOGIN_COOKIE) or ""
        if not attempt:
            raise Unauthorized("Log in first.")
        step: LoginStep = await self.call(
            attempt,
            AccountsActor.second_factor,
            attempt,
            text(body, "method"),
            text(body, "code"),
            self.client,
        )
        self.start_session(step.session_token, step.persistent)
        self.write_model(LoggedIn(user=SessionUser(email=step.user.email)))


class LoginSmsHandler(AccountHandler):
    """Texts a login code to the account's backup phone."""

    openapi = {
        "post": Operation(
            "Text a 6-digit login code (valid 10 minutes; at most 3 per 15 minutes)",
            TAG,
            {200: Answer("Sent; answers the masked number", Sent)},
            {401: "No login waiting for its second factor", 429: "Too many texts"},
        )
    }

    async def post(self) -> None:
        """Send the code for the pending login."""
        attempt = self.get_cookie(LOGIN_COOKIE) or ""
        if not attempt:
            raise Unauthorized("Log in first.")
        masked = await self.call(attempt, AccountsActor.send_login_sms, attempt)
        self.write_model(Sent(sent_to=masked))
