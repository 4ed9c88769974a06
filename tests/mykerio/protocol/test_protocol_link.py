"""Tests of mykerio/protocol/link.py and errors.py: timings, reconnect delays, close codes."""

from __future__ import annotations

import pytest

from mykerio.errors import DomainError
from mykerio.protocol.errors import CloseCode, ProtocolError, close_code_for
from mykerio.protocol.link import (
    BACKOFF_CAP,
    PING_INTERVAL,
    SILENCE_LIMIT,
    SOCKET_PATH,
    MessageBudget,
    reconnect_delay,
    reconnect_policy,
    retry_after_delay,
)


def test_the_documented_timings() -> None:
    """Ping every 30 s, offline after 90 s of silence, socket at /appliance/v1/socket."""
    assert (PING_INTERVAL, SILENCE_LIMIT) == (30.0, 90.0)
    assert SOCKET_PATH == "/appliance/v1/socket"


def test_the_first_reconnect_waits_zero_to_five_seconds() -> None:
    """Attempt 0 waits uniformly between 0 and 5 s, spreading a hub restart's reconnects."""
    assert reconnect_delay(0, lambda: 0.0) == 0.0
    assert reconnect_delay(0, lambda: 0.999) == pytest.approx(4.995)


def test_later_reconnects_back_off_exponentially_with_full_jitter_up_to_the_cap() -> None:
    """The ceiling doubles from 5 s to 300 s; the wait lies anywhere from 0 to the ceiling."""
    ceilings = [reconnect_delay(attempt, lambda: 1.0) for attempt in range(1, 10)]
    assert ceilings == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0, 300.0]
    assert reconnect_delay(3, lambda: 0.0) == 0.0
    assert reconnect_delay(3, lambda: 0.5) == 10.0
    assert reconnect_delay(10_000, lambda: 0.5) <= BACKOFF_CAP


def test_a_retry_after_is_honoured_with_a_second_of_jitter_and_capped() -> None:
    """The hub's `Retry-After` is waited out, plus up to 1 s of the appliance's own jitter."""
    assert retry_after_delay(7, lambda: 0.0) == 7.0
    assert retry_after_delay(7, lambda: 0.5) == 7.5
    assert retry_after_delay(10_000, lambda: 0.0) == BACKOFF_CAP


def test_attempts_count_from_zero() -> None:
    """A negative attempt number is a programming error."""
    with pytest.raises(ValueError, match="from 0"):
        reconnect_delay(-1, lambda: 0.0)


@pytest.mark.parametrize(
    ("close_code", "policy"),
    [
        (CloseCode.NORMAL, "backoff"),
        (CloseCode.GOING_AWAY, "backoff"),
        (CloseCode.TOO_LARGE, "backoff"),
        (CloseCode.SUPERSEDED, "backoff"),
        (CloseCode.FORGED_PROOF, "backoff"),
        (CloseCode.TOO_SLOW, "backoff"),
        (1006, "backoff"),
        (CloseCode.PROTOCOL_ERROR, "at_cap"),
        (CloseCode.UNSUPPORTED_VERSION, "at_cap"),
        (CloseCode.TOO_MANY_MESSAGES, "at_cap"),
        (CloseCode.REVOKED_KEY, "never"),
        (CloseCode.REFUSED, "never"),
        (CloseCode.REMOVED, "never"),
    ],
)
def test_each_close_code_has_its_reconnect_policy(close_code: int, policy: str) -> None:
    """A revoked, refused or removed appliance stays away; version and protocol errors wait long."""
    assert reconnect_policy(close_code) == policy


@pytest.mark.parametrize(
    ("code", "close_code"),
    [
        ("too_large", 1009),
        ("bad_json", 4000),
        ("bad_envelope", 4000),
        ("unknown_type", 4000),
        ("bad_body", 4000),
        ("unexpected_message", 4000),
        ("unsupported_version", 4001),
        ("revoked_key", 4003),
        ("forged_proof", 4004),
        ("replayed_nonce", 4004),
    ],
)
def test_each_error_closes_with_its_code(code: str, close_code: int) -> None:
    """close_code_for() maps every protocol error code to the documented close code."""
    error = ProtocolError(code, "x")  # type: ignore[arg-type]
    assert close_code_for(error) == close_code


def test_a_protocol_error_is_a_domain_error_with_its_code() -> None:
    """ProtocolError renders like any domain error: a 400 with a stable code."""
    error = ProtocolError("bad_body", "hello.nonce is missing")
    assert isinstance(error, DomainError)
    assert (error.status, error.code, error.message) == (400, "bad_body", "hello.nonce is missing")


def test_the_message_budget_allows_a_burst_then_its_rate() -> None:
    """A bucket of 3 at 2 a second takes 3 messages at once, then one per half second, and
    never saves up more than 3."""
    budget = MessageBudget(3, 2.0, now=0.0)
    assert [budget.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert budget.take(0.5) is True
    assert budget.take(0.5) is False
    assert [budget.take(100.0) for _ in range(4)] == [True, True, True, False]
    with pytest.raises(ValueError, match="burst"):
        MessageBudget(0, 1.0, now=0.0)
