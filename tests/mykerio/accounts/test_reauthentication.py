"""Tests of mykerio/accounts/reauthentication.py on both stores: a password proof lasts 5
minutes, belongs to its session, and a new one replaces the old."""

from __future__ import annotations

from mykerio.accounts.policy import AccountPolicy
from mykerio.accounts.reauthentication import RecentAuthentication
from mykerio.clock import FakeClock
from mykerio.store import Store


async def test_a_proof_lasts_five_minutes_for_its_session_only(store: Store) -> None:
    """A recorded proof counts for 5 minutes, for that session and not another one."""
    clock = FakeClock()
    recent = RecentAuthentication(store, clock, AccountPolicy())
    assert not await recent.is_recent("session-a")
    await recent.record("user-1", "session-a")
    assert await recent.is_recent("session-a")
    assert not await recent.is_recent("session-b")
    clock.advance(5 * 60)
    assert not await recent.is_recent("session-a")


async def test_a_new_proof_replaces_an_expired_one(store: Store) -> None:
    """Recording again after the proof expired (still stored) starts a fresh 5 minutes."""
    clock = FakeClock()
    recent = RecentAuthentication(store, clock, AccountPolicy())
    await recent.record("user-1", "session-a")
    clock.advance(10 * 60)
    await recent.record("user-1", "session-a")
    clock.advance(4 * 60)
    assert await recent.is_recent("session-a")
