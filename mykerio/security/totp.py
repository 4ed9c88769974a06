"""Time-based one-time passwords (RFC 6238): secrets, enrolment URI and QR code, verification.

Steps are 30 seconds from the Unix epoch. A code is accepted for the current step and the one
before it (a code typed just as it changed), never for a later step, and only if its step is
greater than the last step the account used: so a code, or any code of an older step, works once.
`matching_step` returns the step it accepted; the caller stores it atomically as the account's new
`last_used_step` ("only if still lower than this"), which makes simultaneous submissions of one
code succeed exactly once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyotp
import segno

STEP = timedelta(seconds=30)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends
DEFAULT_ISSUER = "MyKerio"

# A hashlib constructor such as hashlib.sha1; RFC 6238 also allows sha256 and sha512.
DigestFactory = Callable[..., object]


def new_secret() -> str:
    """A new random 160-bit secret in base32 without padding (32 characters)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def provisioning_uri(secret: str, account: str, issuer: str = DEFAULT_ISSUER) -> str:
    """The `otpauth://totp/...` URI an authenticator app enrols from (SHA-1, 6 digits, 30 s)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """A standalone SVG image (no XML declaration) of a QR code holding `uri`.

    Black on white with the standard four-module quiet zone, which phone cameras read best.
    """
    code = segno.make_qr(uri, error="m")
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        scale=4,
        border=4,
        dark="#000",
        light="#fff",
        title="QR code for your authenticator app",
    )
    return buffer.getvalue().decode("utf-8")


def step_at(at: datetime) -> int:
    """The number of the 30-second step that `at` (timezone-aware) falls in."""
    if at.tzinfo is None:
        # A naive datetime's timestamp depends on the machine's time zone: refuse it.
        raise ValueError("TOTP needs a timezone-aware datetime")
    return (at - EPOCH) // STEP


def code_for_step(
    secret: str, step: int, *, digits: int = 6, digest: DigestFactory = hashlib.sha1
) -> str:
    """The code for `step`: RFC 4226 HOTP with the step number as the counter."""
    return pyotp.TOTP(secret, digits=digits, digest=digest).generate_otp(step)


def code_at(
    secret: str, *, at: datetime, digits: int = 6, digest: DigestFactory = hashlib.sha1
) -> str:
    """The code an authenticator app shows at `at`."""
    return code_for_step(secret, step_at(at), digits=digits, digest=digest)


def matching_step(
    secret: str,
    code: str,
    *,
    at: datetime,
    last_used_step: int | None,
    digits: int = 6,
    digest: DigestFactory = hashlib.sha1,
) -> int | None:
    """The step whose code `code` is, if it may be accepted at `at`; None otherwise.

    Accepts the current and the previous step only, and only a step greater than
    `last_used_step`. `code` is exactly `digits` ASCII digits; spaces are ignored (apps show
    "123 456"), anything else gives None. Codes are compared in constant time.
    """
    typed = code.replace(" ", "")
    if re.fullmatch(rf"[0-9]{{{digits}}}", typed) is None:
        return None
    current = step_at(at)
    accepted: int | None = None
    for step in (current - 1, current):
        if step < 0 or (last_used_step is not None and step <= last_used_step):
            continue
        expected = code_for_step(secret, step, digits=digits, digest=digest)
        if hmac.compare_digest(expected.encode("ascii"), typed.encode("ascii")):
            accepted = step  # the later step wins if both match by chance
    return accepted
