"""The login attempts contract: half-finished logins, their guess count and SMS code.

Runs against SQLite and MongoDB; the guess counter is raced 20 ways.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta

import pytest

from mykerio.errors import Conflict, InvalidInput, NotFound
from mykerio.store import Store
from tests.store.factories import T0, make_login_attempt


async def test_add_and_get(store: Store) -> None:
    """An attempt comes back as added; an unknown hash gives `None`."""
    attempt = make_login_attempt()

    assert await store.login_attempts.add(attempt) == attempt
    assert await store.login_attempts.get(attempt.id_hash) == attempt
    assert await store.login_attempts.get("missing") is None


async def test_duplicate_hash_conflicts(store: Store) -> None:
    """A second attempt with an existing hash is refused."""
    first = await store.login_attempts.add(make_login_attempt())

    with pytest.raises(Conflict):
        await store.login_attempts.add(first)


async def test_add_guess_counts_on_from_the_start(store: Store) -> None:
    """Guesses count up from the attempt's starting count, and `get` shows the count."""
    fresh = await store.login_attempts.add(make_login_attempt())
    started = await store.login_attempts.add(make_login_attempt(guesses=2))

    assert [await store.login_attempts.add_guess(fresh.id_hash) for _ in range(3)] == [1, 2, 3]
    assert await store.login_attempts.add_guess(started.id_hash) == 3

    assert await store.login_attempts.get(fresh.id_hash) == dataclasses.replace(fresh, guesses=3)
    assert await store.login_attempts.get(started.id_hash) == dataclasses.replace(
        started, guesses=3
    )


async def test_twenty_concurrent_guesses_each_get_their_own_count(store: Store) -> None:
    """Twenty simultaneous guesses get the counts 1 to 20, each once, and 20 is stored."""
    attempt = await store.login_attempts.add(make_login_attempt())

    counts = await asyncio.gather(
        *(store.login_attempts.add_guess(attempt.id_hash) for _ in range(20))
    )

    assert sorted(counts) == list(range(1, 21))
    found = await store.login_attempts.get(attempt.id_hash)
    assert found is not None
    assert found.guesses == 20


async def test_add_guess_on_a_gone_attempt_raises_not_found(store: Store) -> None:
    """Guessing on an unknown or deleted attempt raises `NotFound`."""
    attempt = await store.login_attempts.add(make_login_attempt())
    await store.login_attempts.delete(attempt.id_hash)

    for id_hash in ("missing", attempt.id_hash):
        with pytest.raises(NotFound):
            await store.login_attempts.add_guess(id_hash)


async def test_set_sms_code_binds_and_replaces(store: Store) -> None:
    """An SMS code is bound to the attempt, and a new one replaces it."""
    attempt = await store.login_attempts.add(make_login_attempt())
    first_expiry = T0 + timedelta(minutes=10)
    second_expiry = T0 + timedelta(minutes=12)

    await store.login_attempts.set_sms_code(attempt.id_hash, "sms-hash-1", first_expiry)
    await store.login_attempts.set_sms_code(attempt.id_hash, "sms-hash-2", second_expiry)

    assert await store.login_attempts.get(attempt.id_hash) == dataclasses.replace(
        attempt, sms_code_hash="sms-hash-2", sms_expires_at=second_expiry
    )
    with pytest.raises(NotFound):
        await store.login_attempts.set_sms_code("missing", "sms-hash", first_expiry)


async def test_delete_deletes_once_with_the_guesses(store: Store) -> None:
    """Deleting says whether the attempt existed; re-adding its hash starts a fresh count."""
    attempt = await store.login_attempts.add(make_login_attempt())
    await store.login_attempts.add_guess(attempt.id_hash)

    assert await store.login_attempts.delete(attempt.id_hash)
    assert not await store.login_attempts.delete(attempt.id_hash)
    assert await store.login_attempts.get(attempt.id_hash) is None

    await store.login_attempts.add(attempt)
    assert await store.login_attempts.add_guess(attempt.id_hash) == 1


async def test_delete_older_than_spares_the_boundary(store: Store) -> None:
    """Cleanup deletes attempts created strictly before the time, with their guesses."""
    cutoff = T0 + timedelta(minutes=10)
    old = await store.login_attempts.add(make_login_attempt(T0))
    at_cutoff = await store.login_attempts.add(make_login_attempt(cutoff))
    await store.login_attempts.add_guess(old.id_hash)

    assert await store.login_attempts.delete_older_than(cutoff) == 1

    assert await store.login_attempts.get(old.id_hash) is None
    assert await store.login_attempts.get(at_cutoff.id_hash) == at_cutoff
    await store.login_attempts.add(old)
    assert await store.login_attempts.add_guess(old.id_hash) == 1


async def test_naive_datetimes_are_refused(store: Store) -> None:
    """An attempt, SMS expiry or cleanup time without a timezone raises `InvalidInput`."""
    naive = datetime(2026, 1, 1)
    attempt = await store.login_attempts.add(make_login_attempt())

    with pytest.raises(InvalidInput):
        await store.login_attempts.add(make_login_attempt(naive))
    with pytest.raises(InvalidInput):
        await store.login_attempts.set_sms_code(attempt.id_hash, "sms-hash", naive)
    with pytest.raises(InvalidInput):
        await store.login_attempts.delete_older_than(naive)

    assert await store.login_attempts.get(attempt.id_hash) == attempt
