"""API: registering, confirming the email address, password rules, forgotten passwords."""

from __future__ import annotations

from typing import Any

from actors.accounts import AccountsActor
from mykerio.errors import InvalidInput
from mykerio.security.passwords import MAX_PASSWORD_CHARS, check_rules
from web.auth import AccountHandler
from web.openapi import op

TAG = "accounts"
SAME_ANSWER = "If that address has an account, an email is on its way."


def text(body: dict[str, Any], name: str) -> str:
    """A string field of a JSON body (missing means empty)."""
    value = body.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    return value


class RegistrationsHandler(AccountHandler):
    """Creates an account and mails its confirmation link."""

    openapi = {
        "post": op(
            "Register: full name, email, password. The account must confirm its email before "
            "logging in; its first organization is named after the email's domain",
            TAG,
            {"201": "Registered; a confirmation email was sent", "400": "A field is invalid"},
            body={"full_name": "string", "email": "string", "password": "string"},
        )
    }

    async def post(self) -> None:
        """Register."""
        body = self.json_body("email", "full_name", "password")
        email = text(body, "email")
        await self.call(
            email,
            AccountsActor.register,
            text(body, "full_name"),
            email,
            text(body, "password"),
            self.client,
        )
        # The same answer whether or not the address already had an account.
        self.write_json({"message": f"We sent a confirmation link to {email.strip()}."}, 201)


class ConfirmationHandler(AccountHandler):
    """Confirms an email address with the token from its link."""

    openapi = {
        "post": op(
            "Confirm an email address with the token of the emailed link (single use)",
            TAG,
            {"200": "Confirmed", "400": "The link is not valid any more"},
            body={"token": "string"},
        )
    }

    async def post(self) -> None:
        """Confirm."""
        token = text(self.json_body("token"), "token")
        user = await self.call(token, AccountsActor.confirm, token)
        self.write_json({"status": "confirmed", "email": user.email})


class ResendConfirmationHandler(AccountHandler):
    """Mails a new confirmation link to an unconfirmed account."""

    openapi = {
        "post": op(
            "Ask for a new confirmation link; answers the same whether or not the address "
            "has an unconfirmed account",
            TAG,
            {"202": "Accepted"},
            body={"email": "string"},
        )
    }

    async def post(self) -> None:
        """Resend."""
        email = text(self.json_body("email"), "email")
        await self.call(email, AccountsActor.resend_confirmation, email)
        self.write_json({"message": SAME_ANSWER}, 202)


class PasswordRulesHandler(AccountHandler):
    """Evaluates the password rules for the forms' live checklist."""

    openapi = {
        "post": op(
            "Which password rules a candidate password meets (for the live checklist)",
            TAG,
            {"200": "One entry per rule: rule, met, message"},
            body={"password": "string", "full_name": "string", "email": "string"},
        )
    }

    def post(self) -> None:
        """Check the rules; a pure computation, nothing is stored."""
        body = self.json_body("password", "full_name", "email")
        password = text(body, "password")
        if len(password) > MAX_PASSWORD_CHARS + 1:
            password = password[: MAX_PASSWORD_CHARS + 1]  # still fails max_length, cheaply
        results = check_rules(
            password, full_name=text(body, "full_name"), email=text(body, "email")
        )
        self.write_json(
            {"rules": [{"rule": r.rule, "met": r.met, "message": r.message} for r in results]}
        )


class PasswordResetsHandler(AccountHandler):
    """Starts a password reset by email."""

    openapi = {
        "post": op(
            "Forgot password: mails a single-use reset link valid 1 hour if the address has an "
            "account; the answer is the same either way",
            TAG,
            {"202": "Accepted"},
            body={"email": "string"},
        )
    }

    async def post(self) -> None:
        """Request a reset link."""
        email = text(self.json_body("email"), "email")
        await self.call(email, AccountsActor.forgot_password, email)
        self.write_json({"message": SAME_ANSWER}, 202)


class PasswordResetCheckHandler(AccountHandler):
    """Tells the reset page, as it opens, whether its link still works (without using it)."""

    openapi = {
        "post": op(
            "Whether a reset link's token can still set a password; the link stays usable",
            TAG,
            {"200": "Valid", "400": "Used, replaced by a newer link, or older than 1 hour"},
            body={"token": "string"},
        )
    }

    async def post(self) -> None:
        """Check."""
        token = text(self.json_body("token"), "token")
        await self.call(token or "-", AccountsActor.check_reset_link, token)
        self.write_json({"status": "valid"})


class PasswordResetHandler(AccountHandler):
    """Sets a new password with a reset link's token."""

    openapi = {
        "post": op(
            "Set a new password (typed twice) with a reset link's token; ends every session",
            TAG,
            {"200": "Password set", "400": "Invalid link or password"},
            body={"token": "string", "password": "string", "confirm": "string"},
        )
    }

    async def post(self) -> None:
        """Reset."""
        body = self.json_body("token", "password", "confirm")
        token = text(body, "token")
        user = await self.call(
            token,
            AccountsActor.reset_password,
            token,
            text(body, "password"),
            text(body, "confirm"),
        )
        self.end_session()
        self.write_json({"status": "password_set", "email": user.email})
