"""Encryption at rest: AES-256-GCM for TOTP secrets and phone numbers, keyed from the hub's secret.

A sealed value is `version (1 byte) || nonce (12 random bytes) || ciphertext || tag (16 bytes)`.
The caller's `purpose` ("totp secret", "phone") is authenticated as associated data, so a value
sealed for one field cannot be moved into another: opening it there fails like tampering does.
Keys come from the hub's 32-byte master secret through HKDF-SHA256 with a per-use `info`.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mykerio.errors import DomainError

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
FORMAT_VERSION = b"\x01"
AT_REST_INFO = "mykerio at-rest v1"


class TamperedData(DomainError):
    """Sealed data failed authentication: changed, truncated, or sealed with another key/purpose.

    The hub cannot read its own data, so this is a server-side fault, not the user's.
    """

    status = 500
    code = "tampered_data"


def derive_key(master: bytes, *, info: str) -> bytes:
    """A 32-byte key for one use (`info`, e.g. "mykerio at-rest v1") from the master secret."""
    if len(master) < KEY_BYTES:
        raise ValueError(f"the master secret must be at least {KEY_BYTES} bytes")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info.encode("utf-8"))
    return hkdf.derive(master)


class SecretBox:
    """Seals and opens small values with AES-256-GCM and a random 96-bit nonce per message."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"AES-256-GCM needs a {KEY_BYTES}-byte key, not {len(key)} bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_master(cls, master: bytes) -> SecretBox:
        """A box keyed by HKDF-SHA256(master, info="mykerio at-rest v1")."""
        return cls(derive_key(master, info=AT_REST_INFO))

    def seal(self, plaintext: bytes, *, purpose: str) -> bytes:
        """`plaintext` encrypted and authenticated together with `purpose`."""
        # A random 96-bit nonce is safe for far more than the few values per account sealed here
        # (NIST SP 800-38D's limit for random nonces is 2**32 messages per key).
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._aead.encrypt(nonce, plaintext, self._associated_data(purpose))
        return FORMAT_VERSION + nonce + ciphertext

    def open(self, sealed: bytes, *, purpose: str) -> bytes:
        """The plaintext of `sealed`; raises `TamperedData` if it fails authentication."""
        header = len(FORMAT_VERSION) + NONCE_BYTES
        if len(sealed) < header + TAG_BYTES or not sealed.startswith(FORMAT_VERSION):
            raise TamperedData(f"sealed {purpose} is malformed")
        nonce = sealed[len(FORMAT_VERSION) : header]
        try:
            return self._aead.decrypt(nonce, sealed[header:], self._associated_data(purpose))
        except InvalidTag:
            raise TamperedData(
                f"sealed {purpose} failed authentication: changed, or sealed with another key "
                "or for another purpose"
            ) from None

    @staticmethod
    def _associated_data(purpose: str) -> bytes:
        return FORMAT_VERSION + purpose.encode("utf-8")
