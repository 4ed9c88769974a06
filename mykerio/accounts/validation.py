"""Checks on what people type into account forms: names, email addresses, passwords."""

from __future__ import annotations

import re

from mykerio.errors import InvalidInput
from mykerio.security.passwords import MAX_PASSWORD_CHARS, check_rules, first_failure, normalise

# A dot-atom local part (RFC 5322) and a hostname: no quotes, commas, angle brackets or
# semicolons, which could smuggle a second recipient into a header.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+$")


class FieldError(InvalidInput):
    """Invalid input in one named form field."""

    def __init__(self, field: str, message: str, rule: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule


def clean_email(text: str) -> str:
    """The address with surrounding spaces removed and its domain lowercased; or `FieldError`."""
    email = text.strip()
    local = email.rpartition("@")[0]
    if len(email) > 254 or len(local) > 64 or not _EMAIL.match(email):
        raise FieldError("email", "Enter a valid email address, such as ana@example.com.")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_full_name(text: str) -> str:
    """The full name, trimmed; 1 to 200 characters."""
    name = " ".join(text.split())
    if not name:
        raise FieldError("full_name", "Enter your full name.")
    if len(name) > 200:
        raise FieldError("full_name", "A full name can have at most 200 characters.")
    return name


def clean_new_password(password: str, confirm: str | None, *, full_name: str, email: str) -> str:
    """The normalised password if it meets every rule (and matches `confirm` when given)."""
    if len(password) > MAX_PASSWORD_CHARS:
        # Refused before normalising or hashing: a long input must stay cheap to refuse.
        raise FieldError(
            "password",
            f"A password can have at most {MAX_PASSWORD_CHARS} characters.",
            "max_length",
        )
    failed = first_failure(check_rules(password, full_name=full_name, email=email))
    if failed is not None:
        raise FieldError("password", failed.message, failed.rule)
    if confirm is not None and normalise(confirm) != normalise(password):
        raise FieldError("confirm", "The two passwords do not match.")
    return normalise(password)


def organization_name_for(email: str) -> str:
    """The first organization of a new user is named after their email's domain."""
    return email.rpartition("@")[2].lower()
