"""Bodies of registering, confirming the address, password rules and forgotten passwords."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from web.models.base import RequestModel, ResponseModel


class RegistrationRequest(RequestModel):
    """A new account; the domain checks the name, the address and the password rules."""

    full_name: str
    email: str
    password: str


class TokenRequest(RequestModel):
    """The token of an emailed link (confirmation, reset, invitation)."""

    token: str


class EmailRequest(RequestModel):
    """An email address, for a new confirmation or reset link."""

    email: str


class PasswordRulesRequest(RequestModel):
    """A candidate password, with the name and address it must not contain."""

    password: str
    full_name: str = ""
    email: str = ""


class PasswordResetRequest(RequestModel):
    """A new password, typed twice, with the reset link's token."""

    token: str
    password: str
    confirm: str


class Confirmed(ResponseModel):
    """The address is confirmed."""

    status: Literal["confirmed"] = "confirmed"
    email: str


class RuleResult(ResponseModel):
    """Whether the candidate meets one password rule."""

    rule: str
    met: bool
    message: str


class PasswordRules(ResponseModel):
    """One entry per rule, in the checklist's order."""

    rules: list[RuleResult]


class LinkValid(ResponseModel):
    """The reset link can still set a password."""

    status: Literal["valid"] = "valid"


class PasswordSet(ResponseModel):
    """The new password is set; every session ended."""

    status: Literal["password_set"] = "password_set"
    email: str = Field(description="The account's address")
