"""API: registering, confirming the email address, password rules, forgotten passwords."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from actors.accounts import AccountsActor
from mykerio.errors import InvalidInput
from mykerio.security.passwords import MAX_PASSWORD_CHARS, check_rules
from web.auth import AccountHandler
from web.models.accounts import (
    Confirmed,
    EmailRequest,
    LinkValid,
    PasswordResetRequest,
    PasswordRules,
    PasswordRulesRequest,
    PasswordSet,
    RegistrationRequest,
    RuleResult,
    TokenRequest,
)
from web.models.base import Message
from web.openapi import Answer, Operation

TAG = "accounts"
SAME_ANSWER = "If that address has an account, an email is on its way."


def text(body: BaseModel | Mapping[str, Any], name: str) -> str:
    """A string field of a request model (or of a dict body, where missing means empty)."""
    value = getattr(body, name) if isinstance(body, BaseModel) else body.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    return value


class RegistrationsHandler(AccountHandler):
    """Creates an account and mails its confirmation link."""

    openapi = {
        "post": Operation(
            "Register: full name, email, password. The account must confirm its email before "
            "logging in; its first organization is named after the email's domain",
            TAG,
            {201: Answer("Registered; a confirmation email was sent", Message)},
            {400: "A field is invalid"},
            body=RegistrationRequest,
        )
    }

    async def post(self) -> None:
        """Register."""
        body = self.body(RegistrationRequest)
        email = body.email
        await self.call(
            email,
            AccountsActor.register,
            text(body, "full_name"),
            email,
            text(body, "password"),
            self.client,
        )
        # The same answer whether or not the address already had an account.
        self.write_model(Message(message=f"We sent a confirmation link to {email.strip()}."), 201)


class ConfirmationHandler(AccountHandler):
    """Confirms an email address with the token from its link."""

    openapi = {
        "post": Operation(
            "Confirm an email address with the token of the emailed link (single use)",
            TAG,
            {200: Answer("Confirmed", Confirmed)},
            {400: "The link is not valid any more"},
            body=TokenRequest,
        )
    }

    async def post(self) -> None:
        """Confirm."""
        token = self.body(TokenRequest).token
        user = await self.call(token, AccountsActor.confirm, token)
        self.write_model(Confirmed(email=user.email))


class ResendConfirmationHandler(AccountHandler):
    """Mails a new confirmation link to an unconfirmed account."""

    openapi = {
        "post": Operation(
            "Ask for a new confirmation link; answers the same whether or not the address "
            "has an unconfirmed account",
            TAG,
            {202: Answer("Accepted", Message)},
            body=EmailRequest,
        )
    }

    async def post(self) -> None:
        """Resend."""
        email = self.body(EmailRequest).email
        await self.call(email, AccountsActor.resend_confirmation, email)
        self.write_model(Message(message=SAME_ANSWER), 202)


class PasswordRulesHandler(AccountHandler):
    """Evaluates the password rules for the forms' live checklist."""

    openapi = {
        "post": Operation(
            "Which password rules a candidate password meets (for the live checklist)",
            TAG,
            {200: Answer("One entry per rule: rule, met, message", PasswordRules)},
            body=PasswordRulesRequest,
        )
    }

    def post(self) -> None:
        """Check the rules; a pure computation, nothing is stored."""
        body = self.body(PasswordRulesRequest)
        password = body.password
        if len(password) > MAX_PASSWORD_CHARS + 1:
            password = password[: MAX_PASSWORD_CHARS + 1]  # still fails max_length, cheaply
        results = check_rules(password, full_name=body.full_name, email=body.email)
        self.write_model(PasswordRules(rules=[RuleResult.model_validate(r) for r in results]))


class PasswordResetsHandler(AccountHandler):
    """Starts a password reset by email."""

    openapi = {
        "post": Operation(
            "Forgot password: mails a single-use reset link valid 1 hour if the address has an "
            "account; the answer is the same either way",
            TAG,
            {202: Answer("Accepted", Message)},
            body=EmailRequest,
        )
    }

    async def post(self) -> None:
        """Request a reset link."""
        email = self.body(EmailRequest).email
        await self.call(email, AccountsActor.forgot_password, email)
        self.write_model(Message(message=SAME_ANSWER), 202)


class PasswordResetCheckHandler(AccountHandler):
    """Tells the reset page, as it opens, whether its link still works (without using it)."""

    openapi = {
        "post": Operation(
            "Whether a reset link's token can still set a password; the link stays usable",
            TAG,
            {200: Answer("Valid", LinkValid)},
            {400: "Used, replaced by a newer link, or older than 1 hour"},
            body=TokenRequest,
        )
    }

    async def post(self) -> None:
        """Check."""
        token = self.body(TokenRequest).token
        await self.call(token or "-", AccountsActor.check_reset_link, token)
        self.write_model(LinkValid())


class PasswordResetHandler(AccountHandler):
    """Sets a new password with a reset link's token."""

    openapi = {
        "post": Operation(
            "Set a new password (typed twice) with a reset link's token; ends every session",
            TAG,
            {200: Answer("Password set", PasswordSet)},
            {400: "Invalid link or password"},
            body=PasswordResetRequest,
        )
    }

    async def post(self) -> None:
        """Reset."""
        body = self.body(PasswordResetRequest)
        token = body.token
        user = await self.call(
            token,
            AccountsActor.reset_password,
            token,
            text(body, "password"),
            text(body, "confirm"),
        )
        self.end_session()
        self.write_model(PasswordSet(email=user.email))
