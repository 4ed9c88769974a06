"""API: logging in (password, then a second factor), SMS login codes, logging out, CSRF."""

from __future__ import annotations

from actors.accounts import AccountsActor
from mykerio.accounts.login import LoginStep
from mykerio.errors import Unauthorized
from web.api_accounts import text
from web.auth import LOGIN_COOKIE, AccountHandler
from web.openapi import op

TAG = "sessions"


class CsrfHandler(AccountHandler):
    """Hands API clients the CSRF token (and sets its cookie)."""

    openapi = {
        "get": op(
            "The CSRF token to send as X-XSRFToken with every state-changing request",
            TAG,
            {"200": "Token"},
        )
    }

    def get(self) -> None:
        """The token; the matching cookie is set on the response."""
        self.write_json({"csrf_token": self.xsrf_token.decode()})


class SessionsHandler(AccountHandler):
    """POST logs in with email and password; DELETE logs out."""

    openapi = {
        "post": op(
            "Log in. Answers `status: logged_in`, or `status: second_factor` with the methods "
            "the account offers; 429 with Retry-After after 10 failures in 15 minutes",
            TAG,
            {"200": "Logged in, or a second factor is needed", "401": "Wrong email or password"},
            body={"email": "string", "password": "string", "keep_logged_in": "boolean"},
        ),
        "delete": op("Log out: the session ends on the server", TAG, {"204": "Logged out"}),
    }

    async def post(self) -> None:
        """The password step."""
        body = self.json_body("email", "password", "keep_logged_in")
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
            self.write_json({"status": "logged_in", "user": {"email": step.user.email}})
            return
        self.remember_login(step.attempt_token)
        self.write_json({"status": "second_factor", "methods": list(step.methods)})

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
        "post": op(
            "Finish a login with a code: method is totp, backup or sms. A new session id is "
            "issued; 5 guesses per login, 10 per account per 15 minutes",
            TAG,
            {"200": "Logged in", "401": "Wrong code or expired login"},
            body={"method": "string", "code": "string"},
        )
    }

    async def post(self) -> None:
        """The code step."""
        body = self.json_body("method", "code")
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
        self.write_json({"status": "logged_in", "user": {"email": step.user.email}})


class LoginSmsHandler(AccountHandler):
    """Texts a login code to the account's backup phone."""

    openapi = {
        "post": op(
            "Text a 6-digit login code (valid 10 minutes; at most 3 per 15 minutes)",
            TAG,
            {"200": "Sent; answers the masked number"},
        )
    }

    async def post(self) -> None:
        """Send the code for the pending login."""
        attempt = self.get_cookie(LOGIN_COOKIE) or ""
        if not attempt:
            raise Unauthorized("Log in first.")
        masked = await self.call(attempt, AccountsActor.send_login_sms, attempt)
        self.write_json({"sent_to": masked})
