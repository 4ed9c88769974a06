"""Random tokens: session ids, email-confirmation and password-reset links, SMS codes.

Tokens carry 256 bits of randomness, so the store keeps only their SHA-256 (`token_hash`): a
plain hash cannot be reversed or guessed, and a leaked table opens no session and no link.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
DEFAULT_CODE_DIGITS = 6


def new_token() -> str:
    """A new token of 32 random bytes, URL-safe base64 without padding (43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The SHA-256 of `token` as hex: what the store keeps and looks tokens up by."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def numeric_code(digits: int = DEFAULT_CODE_DIGITS) -> str:
    """A random code of exactly `digits` decimal digits, leading zeros kept (for SMS)."""
    if digits < 1:
        raise ValueError("a code has at least one digit")
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def same(a: str, b: str) -> bool:
    """Whether two secrets are equal, in time that does not depend on where they differ."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )
