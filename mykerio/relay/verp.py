"""Signed return paths: each relayed email's envelope sender names its outbox message.

A relayed email goes out with `MAIL FROM:<bounce-<message id>-<tag>@<bounce domain>>`, where
the tag is HMAC-SHA256 of the message id under a key HKDF derives from the hub's secret key for
this purpose only (the first 10 bytes, hex). A bounce to such an address identifies the message
(and, through the outbox, its one recipient); one whose tag does not verify names nothing and
is dropped, so nobody can blacklist an address by mailing the hub a forged bounce.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from mykerio.security.encryption import derive_key

VERP_INFO = "mykerio relay return paths v1"
_TAG_BYTES = 10
_LOCAL = re.compile(r"bounce-([0-9a-f]{32})-([0-9a-f]{20})")


class ReturnPaths:
    """Makes and reads the relay's signed return paths."""

    def __init__(self, master: bytes, domain: str) -> None:
        self._key = derive_key(master, info=VERP_INFO)
        self.domain = domain.lower()

    def _tag(self, message_id: str) -> str:
        digest = hmac.new(self._key, message_id.encode("ascii"), hashlib.sha256).digest()
        return digest[:_TAG_BYTES].hex()

    def for_message(self, message_id: str) -> str:
        """The envelope sender of outbox message `message_id` (32 lowercase hex)."""
        return f"bounce-{message_id}-{self._tag(message_id)}@{self.domain}"

    def message_of(self, address: str) -> str | None:
        """The outbox message id a return path names, or None if it is not one of ours."""
        local, _, domain = address.strip().strip("<>").rpartition("@")
        found = _LOCAL.fullmatch(local.lower())
        if found is None or domain.lower() != self.domain:
            return None
        message_id, tag = found.groups()
        return message_id if hmac.compare_digest(tag, self._tag(message_id)) else None
