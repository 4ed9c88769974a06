"""A Kerio Control box's local administrator, and its factory set-up by the hub (`setup`).

A box added by serial number is set up over its waiting socket (docs/protocol.md, "Adding a
box by serial"): the hub sends either the credentials of the administrator the box already has,
which it checks, or a new administrator with an email address and the anonymous usage-statistics
choice, which it creates. Only a salted scrypt hash of the password is kept, in the box's own
state; the answer is `setup_result`, and after a successful set-up the box restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from mykerio.protocol.envelope import JsonValue
from mykerio.protocol.identity import b64url, from_b64url

# scrypt at n=2**14, r=8 (16 MiB, ~50 ms): a box's admin login, not a password database.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}


@dataclass(frozen=True, slots=True)
class BoxAdmin:
    """The box's local administrator account."""

    username: str
    password_hash: str  # "scrypt$<salt>$<hash>", base64url parts
    email: str | None = None
    statistics: bool = False

    @classmethod
    def create(
        cls, username: str, password: str, email: str | None = None, statistics: bool = False
    ) -> BoxAdmin:
        """A new administrator with a freshly salted password hash."""
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
        return cls(username, f"scrypt${b64url(salt)}${b64url(digest)}", email, statistics)

    def verify(self, username: str, password: str) -> bool:
        """Whether these are this administrator's user name and password."""
        _, salt, expected = self.password_hash.split("$")
        digest = hashlib.scrypt(password.encode("utf-8"), salt=from_b64url(salt), **_SCRYPT)
        same_password = hmac.compare_digest(digest, from_b64url(expected))
        return same_password and username.casefold() == self.username.casefold()

    def to_json(self) -> dict[str, object]:
        """Its form in `state.json`."""
        return {
            "username": self.username,
            "password_hash": self.password_hash,
            "email": self.email,
            "statistics": self.statistics,
        }

    @classmethod
    def from_json(cls, data: object) -> BoxAdmin:
        """Read it back; `ValueError` if it is not one."""
        if not isinstance(data, dict):
            raise ValueError("admin must be an object")
        username, password_hash = data.get("username"), data.get("password_hash")
        email, statistics = data.get("email"), data.get("statistics", False)
        if not isinstance(username, str) or not isinstance(password_hash, str):
            raise ValueError("admin needs a username and a password_hash")
        if password_hash.count("$") != 2 or not password_hash.startswith("scrypt$"):
            raise ValueError("admin.password_hash is not a scrypt hash")
        if email is not None and not isinstance(email, str):
            raise ValueError("admin.email must be a string or null")
        if not isinstance(statistics, bool):
            raise ValueError("admin.statistics must be true or false")
        return cls(username, password_hash, email, statistics)


@dataclass(frozen=True, slots=True)
class SetupOutcome:
    """The `setup_result` body to send, and the administrator the box has afterwards."""

    result: dict[str, JsonValue]
    admin: BoxAdmin | None

    @property
    def ok(self) -> bool:
        """Whether the set-up succeeded (the box then restarts)."""
        return self.result.get("ok") is True


def apply_setup(current: BoxAdmin | None, body: Mapping[str, JsonValue]) -> SetupOutcome:
    """Check or create the administrator a `setup` body names (already schema-checked)."""
    username, password = str(body["username"]), str(body["password"])
    if body.get("eula_accepted") is not True:
        return _refuse(current, "eula", "The End User License Agreement was not accepted.")
    if body["admin"] == "existing":
        if current is None:
            return _refuse(
                current,
                "no_admin",
                "This box has no administrator yet. Create a new administrator instead.",
            )
        if not current.verify(username, password):
            return _refuse(current, "bad_credentials", "The user name or password is not correct.")
        return SetupOutcome({"ok": True}, current)
    if current is not None:
        return _refuse(
            current,
            "admin_exists",
            "This box already has an administrator. Enter that administrator's user name and "
            "password instead.",
        )
    email = body.get("email")
    if not isinstance(email, str):
        return _refuse(current, "bad_email", "A new administrator needs an email address.")
    admin = BoxAdmin.create(username, password, email, body.get("statistics") is True)
    return SetupOutcome({"ok": True}, admin)


def check_setup(current: BoxAdmin | None, body: Mapping[str, JsonValue]) -> Mapping[str, JsonValue]:
    """The `setup_result` a `setup` with this `setup_check` body's choice would get; changes
    nothing (a new administrator's email and the EULA are checked only by `setup`)."""
    if body["admin"] == "existing":
        if current is None:
            return _refuse(current, "no_admin", "This box has no administrator yet.").result
        if not current.verify(str(body["username"]), str(body["password"])):
            return _refuse(
                current, "bad_credentials", "The user name or password is not correct."
            ).result
    elif current is not None:
        return _refuse(current, "admin_exists", "This box already has an administrator.").result
    return {"ok": True}


def _refuse(current: BoxAdmin | None, code: str, message: str) -> SetupOutcome:
    return SetupOutcome({"ok": False, "code": code, "message": message}, current)
