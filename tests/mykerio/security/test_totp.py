"""Tests of mykerio/security/totp.py: RFC 6238 vectors, the step window and single use."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from mykerio.security.totp import (
    code_at,
    code_for_step,
    matching_step,
    new_secret,
    provisioning_uri,
    qr_svg,
    step_at,
)

VECTORS = json.loads(
    (Path(__file__).parents[2] / "data" / "otp_test_vectors.json").read_text("utf-8")
)["rfc6238_totp"]
DIGESTS: dict[str, Callable[..., object]] = {
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC)


def vectors(algorithm: str) -> list[dict[str, Any]]:
    return [v for v in VECTORS["vectors"] if v["algorithm"] == algorithm]


def vector_time(vector: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(vector["unix_time"], tz=UTC)


@pytest.mark.parametrize("vector", vectors("SHA1"), ids=lambda v: str(v["unix_time"]))
def test_rfc6238_sha1_vectors_verify_with_8_and_6_digits(vector: dict[str, Any]) -> None:
    """Each RFC 6238 Appendix B SHA-1 code is accepted at its time, 8 digits and 6 digits."""
    secret = VECTORS["keys"]["SHA1"]["base32"]
    at = vector_time(vector)
    step = int(vector["T_hex"], 16)
    assert matching_step(secret, vector["totp_8"], at=at, last_used_step=None, digits=8) == step
    assert matching_step(secret, vector["totp_6_derived"], at=at, last_used_step=None) == step


@pytest.mark.parametrize("vector", vectors("SHA1"), ids=lambda v: str(v["unix_time"]))
def test_rfc6238_sha1_vectors_are_generated(vector: dict[str, Any]) -> None:
    """The code generated at each RFC 6238 SHA-1 vector's time is the published one."""
    secret = VECTORS["keys"]["SHA1"]["base32"]
    at = vector_time(vector)
    assert step_at(at) == int(vector["T_hex"], 16)
    assert code_at(secret, at=at, digits=8) == vector["totp_8"]
    assert code_at(secret, at=at) == vector["totp_6_derived"]


@pytest.mark.parametrize(
    "vector",
    vectors("SHA256") + vectors("SHA512"),
    ids=lambda v: f"{v['algorithm']}-{v['unix_time']}",
)
def test_rfc6238_sha256_and_sha512_vectors(vector: dict[str, Any]) -> None:
    """The SHA-256 and SHA-512 vectors, with their own keys, are generated and accepted."""
    secret = VECTORS["keys"][vector["algorithm"]]["base32"].rstrip("=")
    digest = DIGESTS[vector["algorithm"]]
    at = vector_time(vector)
    assert code_at(secret, at=at, digits=8, digest=digest) == vector["totp_8"]
    assert matching_step(
        secret, vector["totp_8"], at=at, last_used_step=None, digits=8, digest=digest
    ) == int(vector["T_hex"], 16)


def test_new_secret_is_160_random_bits_in_unpadded_base32() -> None:
    """A secret is 32 base32 characters decoding to 20 bytes, and each one is new."""
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        assert len(base64.b32decode(secret)) == 20


def test_provisioning_uri_names_issuer_account_and_secret() -> None:
    """The otpauth URI carries the secret, the issuer and the account for the app."""
    uri = provisioning_uri(SECRET, "ana@acme.example")
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/MyKerio:ana%40acme.example"
    assert query["secret"] == [SECRET]
    assert query["issuer"] == ["MyKerio"]


def test_qr_svg_is_a_standalone_svg() -> None:
    """The QR code is an SVG document with its namespace, a title and drawn modules."""
    svg = qr_svg(provisioning_uri(SECRET, "ana@acme.example"))
    assert svg.startswith("<svg")
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert "<title>" in svg
    assert "<path" in svg
    assert svg.rstrip().endswith("</svg>")


def test_the_current_step_is_accepted() -> None:
    """The code shown now is accepted and its step returned."""
    code = code_at(SECRET, at=NOW)
    assert matching_step(SECRET, code, at=NOW, last_used_step=None) == step_at(NOW)


def test_the_previous_step_is_accepted() -> None:
    """A code from the step just before is still accepted."""
    earlier = NOW - timedelta(seconds=30)
    code = code_at(SECRET, at=earlier)
    assert matching_step(SECRET, code, at=NOW, last_used_step=None) == step_at(earlier)


def test_a_code_two_steps_old_is_refused() -> None:
    """A code from two steps ago is refused."""
    code = code_at(SECRET, at=NOW - timedelta(seconds=60))
    assert matching_step(SECRET, code, at=NOW, last_used_step=None) is None


def test_a_code_from_the_next_step_is_refused() -> None:
    """A code from the future (a fast phone clock) is refused."""
    code = code_at(SECRET, at=NOW + timedelta(seconds=30))
    assert matching_step(SECRET, code, at=NOW, last_used_step=None) is None


def test_a_replayed_code_is_refused() -> None:
    """Once a code's step is stored as used, the same code is refused, even a second later."""
    code = code_at(SECRET, at=NOW)
    used = matching_step(SECRET, code, at=NOW, last_used_step=None)
    assert used is not None
    later = NOW + timedelta(seconds=1)
    assert matching_step(SECRET, code, at=later, last_used_step=used) is None


def test_an_older_step_is_refused_after_a_newer_one_was_used() -> None:
    """After the current step's code is used, the previous step's code no longer works."""
    used = matching_step(SECRET, code_at(SECRET, at=NOW), at=NOW, last_used_step=None)
    older = code_at(SECRET, at=NOW - timedelta(seconds=30))
    assert matching_step(SECRET, older, at=NOW, last_used_step=used) is None


def test_the_current_step_works_after_the_previous_one_was_used() -> None:
    """Using the previous step's code leaves the current step's code usable once."""
    previous = code_at(SECRET, at=NOW - timedelta(seconds=30))
    used = matching_step(SECRET, previous, at=NOW, last_used_step=None)
    current = code_at(SECRET, at=NOW)
    assert matching_step(SECRET, current, at=NOW, last_used_step=used) == step_at(NOW)


@pytest.mark.parametrize(
    "typed", ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", "123456\n", "-12345"]
)
def test_malformed_codes_are_refused(typed: str) -> None:
    """Anything but exactly six ASCII digits gives None."""
    assert matching_step(SECRET, typed, at=NOW, last_used_step=None) is None


def test_spaces_in_a_code_are_ignored() -> None:
    """A code typed as the app shows it, "123 456", is accepted."""
    code = code_at(SECRET, at=NOW)
    spaced = f"{code[:3]} {code[3:]}"
    assert matching_step(SECRET, spaced, at=NOW, last_used_step=None) == step_at(NOW)


def test_a_wrong_code_is_refused() -> None:
    """A well-formed code that matches neither step is refused."""
    window = {code_for_step(SECRET, step_at(NOW) - offset) for offset in (0, 1)}
    wrong = next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in window)
    assert matching_step(SECRET, wrong, at=NOW, last_used_step=None) is None


def test_the_first_step_after_the_epoch_has_no_previous_step() -> None:
    """At step 0 only step 0 is checked; there is no step -1."""
    at = datetime(1970, 1, 1, 0, 0, 10, tzinfo=UTC)
    assert matching_step(SECRET, code_at(SECRET, at=at), at=at, last_used_step=None) == 0


def test_naive_datetimes_are_refused() -> None:
    """A datetime without a time zone is a programming error, not a guess."""
    with pytest.raises(ValueError, match="timezone"):
        step_at(datetime(2026, 3, 1, 12, 0))
