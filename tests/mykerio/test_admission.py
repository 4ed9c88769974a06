"""Tests of mykerio/appliances/admission.py: the bound on handshakes, the line, retry-after."""

from __future__ import annotations

import asyncio

import pytest

from mykerio.appliances.admission import (
    RETRY_CAP,
    RETRY_FLOOR,
    HandshakeBudget,
    handshake_limit,
)


def test_the_bound_is_per_core() -> None:
    """64 per core on 2 cores is 128; an unknown core count counts as one."""
    assert handshake_limit(64, 2) == 128
    assert handshake_limit(64, None) == 64


def test_over_the_bound_a_handshake_is_refused_with_a_retry_after_in_bounds() -> None:
    """Up to the limit every knock is admitted; then each gets whole seconds to wait."""
    budget = HandshakeBudget(2, uniform=lambda: 0.999)
    assert budget.try_enter(0.0) is None
    assert budget.try_enter(0.0) is None
    waits = [budget.try_enter(0.0) for _ in range(500)]
    assert all(w is not None and RETRY_FLOOR <= w <= RETRY_CAP for w in waits)
    assert waits[-1] == RETRY_CAP  # 500 refused at a pace of a few a second: the cap
    assert budget.refused == 500


def test_the_retry_after_is_jittered_over_the_time_needed() -> None:
    """The lowest draw is the floor; the highest is the refused count over the pace."""
    low = HandshakeBudget(1, uniform=lambda: 0.0)
    high = HandshakeBudget(1, uniform=lambda: 0.999)
    for budget in (low, high):
        budget.try_enter(0.0)
    assert [low.try_enter(0.0) for _ in range(3)] == [1, 1, 1]
    # Pace floor: 1 slot / 0.5 s = 2 a second; 10 refused need 5 s.
    assert [high.try_enter(0.0) for _ in range(10)][-1] == 5


async def test_a_freed_slot_goes_to_the_first_in_line() -> None:
    """A knock over the bound waits; `leave` hands it the slot (in progress stays at the limit)."""
    budget = HandshakeBudget(1)
    assert await budget.enter(0.0) is None
    waiting = asyncio.ensure_future(budget.enter(0.0, max_wait=5.0))
    await asyncio.sleep(0)  # (it joins the line)
    assert not waiting.done()
    budget.leave(0.1, finished=True)
    assert await waiting is None
    assert (budget.in_progress, budget.completed) == (1, 1)
    budget.leave(0.2, finished=False)
    assert (budget.in_progress, budget.completed) == (0, 1)


async def test_a_knock_that_waited_too_long_is_refused_and_leaves_the_line() -> None:
    """After `max_wait` in line the answer is a retry-after, and the slot skips it."""
    budget = HandshakeBudget(1)
    await budget.enter(0.0)
    assert await budget.enter(0.0, max_wait=0.0) is not None
    budget.leave(1.0, finished=True)
    assert budget.in_progress == 0  # no one left in line to take it


def test_a_budget_admits_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least one"):
        HandshakeBudget(0)


async def test_closing_refuses_the_line_at_once_and_every_later_knock() -> None:
    """At shutdown the knocks in line are answered at once, not after their wait."""
    budget = HandshakeBudget(1)
    await budget.enter(0.0)
    waiting = asyncio.ensure_future(budget.enter(0.0, max_wait=60.0))
    await asyncio.sleep(0)
    budget.close()
    assert await asyncio.wait_for(waiting, 1.0) is not None
    assert await budget.enter(0.0) is not None
    assert budget.try_enter(0.0) is not None
