"""Backup codes for 2-step verification: generating a set, normalising what is typed, hashing.

A code is 10 characters from a 31-character alphabet without look-alikes (no 0/o, 1/l/i),
shown as two groups of five (`k7m2q-x9fhd`), about 49.5 bits of randomness. Only
`hash_code(code, key)` is stored; each stored hash is usable once, and a new set replaces the old.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_CHARS = 10
GROUP_CHARS = 5
DEFAULT_COUNT = 10


def generate(count: int = DEFAULT_COUNT) -> list[str]:
    """`count` distinct new codes, formatted for display (`abcde-fghij`)."""
    codes: list[str] = []
    while len(codes) < count:
        raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))
        code = f"{raw[:GROUP_CHARS]}-{raw[GROUP_CHARS:]}"
        if code not in codes:
            codes.append(code)
    return codes


def normalise_code(text: str) -> str:
    """What the user typed, without spaces or dashes, in lowercase: the form that is hashed."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(char for char in folded if not char.isspace() and char != "-")


def hash_code(code: str, key: bytes) -> str:
    """HMAC-SHA256 of the normalised code under the server's `key`, as hex.

    A fast keyed hash is enough here, unlike for passwords: the codes are random with ~49.5 bits
    of entropy (not chosen by people, so no dictionary helps), guessing online is throttled, and
    offline a stolen database is useless without the key, which lives in the data directory, not
    in the store. Pass a key derived for this purpose (`encryption.derive_key`), not the master.
    """
    if not key:
        raise ValueError("backup codes need a non-empty key")
    return hmac.new(key, normalise_code(code).encode("utf-8"), hashlib.sha256).hexdigest()
