"""Standard Webhooks signatures (standardwebhooks.com).

Each delivery carries `webhook-id` (the delivery's id, the same on every retry),
`webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`:
`v1,` + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")), the key being the base64 part of
the endpoint's secret `whsec_<base64>`, shown once when the endpoint is made.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 24


def new_secret() -> str:
    """A fresh endpoint secret, `whsec_` and 24 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one attempt."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three signing headers (with the JSON content type)."""
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


def verify(secret: str, message_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether `header` holds a valid signature of this delivery (for receivers and tests)."""
    expected = signature(secret, message_id, int(timestamp), body)
    return any(hmac.compare_digest(expected, one) for one in header.split())
