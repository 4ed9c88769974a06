"""Web Push messages: encrypted for one browser (RFC 8291, aes128gcm with http-ece) and
signed for the push service (VAPID, RFC 8292, with py-vapid).

The hub's VAPID key is made at first start: `vapid.pem` in the data directory, mode 0600; its
public half (uncompressed P-256 point, base64url) is the `applicationServerKey` browsers
subscribe with. A VAPID token lives at most 12 hours (the push services refuse more than 24).
Encrypting costs an ECDH and a key derivation per message: callers run it off the event loop.
"""

from __future__ import annotations

import base64
import dataclasses
import os
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import http_ece
import py_vapid
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

KEY_FILE = "vapid.pem"
TOKEN_LIFETIME = timedelta(hours=12)


def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    """Bytes of unpadded (or padded) base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclasses.dataclass(frozen=True, slots=True)
class VapidKey:
    """The hub's VAPID key pair."""

    pem: bytes = dataclasses.field(repr=False)

    @property
    def public_key(self) -> str:
        """The `applicationServerKey`: the public point, base64url."""
        private = serialization.load_pem_private_key(self.pem, password=None)
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        point = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)


def load_or_create_key(data_dir: Path) -> VapidKey:
    """The hub's VAPID key, made (0600) on first start."""
    path = data_dir / KEY_FILE
    if not path.exists():
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it meanwhile: read that one
        else:
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
    return VapidKey(path.read_bytes())


@dataclasses.dataclass(frozen=True, slots=True)
class Subscriber:
    """Where and for whom a push goes: the browser's `PushSubscription`."""

    endpoint: str
    p256dh: str  # the browser's public key, base64url
    auth: str  # its 16-byte authentication secret, base64url


def encrypt(subscriber: Subscriber, payload: bytes) -> bytes:
    """The aes128gcm body of one push (blocking: a few hundred µs of CPU)."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    body: bytes = http_ece.encrypt(
        payload,
        private_key=ephemeral,
        dh=from_b64url(subscriber.p256dh),
        auth_secret=from_b64url(subscriber.auth),
        version="aes128gcm",
    )
    return body


def vapid_authorization(key: VapidKey, endpoint: str, subject: str, now: datetime) -> str:
    """The `Authorization: vapid t=…,k=…` value for a push service (the audience is the
    endpoint's origin)."""
    parts = urlsplit(endpoint)
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int((now + TOKEN_LIFETIME).timestamp()),
        "sub": subject,
    }
    signer = py_vapid.Vapid02.from_pem(key.pem)
    header: str = signer.sign(claims)["Authorization"]
    return header


def push_headers(
    key: VapidKey, endpoint: str, subject: str, now: datetime, ttl: int
) -> dict[str, str]:
    """The headers of one push request."""
    return {
        "Authorization": vapid_authorization(key, endpoint, subject, now),
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(ttl),
        "Urgency": "normal",
    }
