"""Tests of mykerio/security/tokens.py: random tokens, their stored hashes, numeric codes."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from mykerio.security.tokens import new_token, numeric_code, same, token_hash


def test_tokens_are_32_random_bytes_in_urlsafe_base64() -> None:
    """A token is 43 URL-safe characters decoding to 32 bytes, and each one is new."""
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        assert len(base64.urlsafe_b64decode(token + "=")) == 32


def test_token_hash_is_sha256_hex() -> None:
    """The stored form of a token is its SHA-256 in hex, the same every time."""
    token = new_token()
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token_hash(token) == token_hash(token)
    assert token_hash(token) != token_hash(new_token())


def test_token_hash_accepts_any_text() -> None:
    """A forged token with odd characters hashes instead of raising."""
    assert re.fullmatch(r"[0-9a-f]{64}", token_hash("\ud800 not a token"))


@pytest.mark.parametrize("digits", [4, 6, 8])
def test_numeric_codes_have_exactly_the_digits_asked(digits: int) -> None:
    """A code has exactly `digits` ASCII digits, leading zeros included."""
    for _ in range(200):
        assert re.fullmatch(rf"[0-9]{{{digits}}}", numeric_code(digits))


def test_numeric_codes_default_to_six_digits_and_vary() -> None:
    """SMS codes are six digits by default and not all the same."""
    codes = {numeric_code() for _ in range(50)}
    assert all(len(code) == 6 for code in codes)
    assert len(codes) > 40


def test_a_code_needs_at_least_one_digit() -> None:
    """Zero digits is a programming error."""
    with pytest.raises(ValueError, match="digit"):
        numeric_code(0)


def test_same_compares_secrets() -> None:
    """same() is true only for equal strings, including non-ASCII ones."""
    assert same("abc", "abc")
    assert not same("abc", "abd")
    assert not same("abc", "abcd")
    assert same("žluťoučký", "žluťoučký")
    assert not same("é", "e\u0301")
