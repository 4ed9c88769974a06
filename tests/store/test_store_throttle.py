"""The throttle contract: events per key counted in a sliding window `(at - window, at]`.

Runs against SQLite and MongoDB.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from mykerio.errors import InvalidInput
from mykerio.store import Store
from tests.store.factories import T0

KEY = "login:ana@acme.example"
WINDOW = timedelta(minutes=15)
MINUTE = timedelta(minutes=1)


async def test_record_counts_the_events_inside_the_window(store: Store) -> None:
    """Each record returns how many of the key's events lie in the window ending at it."""
    counts = [await store.throttle.record(KEY, T0 + i * MINUTE, WINDOW) for i in range(4)]

    assert counts == [1, 2, 3, 4]
    assert await store.throttle.record("login:other@acme.example", T0, WINDOW) == 1


async def test_an_event_leaves_the_window_exactly_one_window_later(store: Store) -> None:
    """An event at `t` counts at `t + window - 1 ms` and no longer at `t + window`."""
    await store.throttle.record(KEY, T0, WINDOW)
    millisecond = timedelta(milliseconds=1)

    assert await store.throttle.record(KEY, T0 + WINDOW - millisecond, WINDOW) == 2
    assert await store.throttle.record(KEY, T0 + WINDOW, WINDOW) == 2
    assert await store.throttle.count(KEY, T0 - WINDOW) == 2


async def test_record_deletes_the_key_s_events_outside_the_window(store: Store) -> None:
    """Recording drops the key's events that left the window, and no other key's."""
    await store.throttle.record(KEY, T0, WINDOW)
    await store.throttle.record("other", T0, WINDOW)

    await store.throttle.record(KEY, T0 + 2 * WINDOW, WINDOW)

    assert await store.throttle.count(KEY, T0 - WINDOW) == 1
    assert await store.throttle.count("other", T0 - WINDOW) == 1


async def test_count_and_oldest_since_exclude_since(store: Store) -> None:
    """`count` and `oldest_since` see the events strictly after `since`."""
    for i in range(3):
        await store.throttle.record(KEY, T0 + i * MINUTE, WINDOW)

    assert await store.throttle.count(KEY, T0 - MINUTE) == 3
    assert await store.throttle.count(KEY, T0) == 2
    assert await store.throttle.count("nobody", T0 - MINUTE) == 0
    assert await store.throttle.oldest_since(KEY, T0 - MINUTE) == T0
    assert await store.throttle.oldest_since(KEY, T0) == T0 + MINUTE
    assert await store.throttle.oldest_since(KEY, T0 + 2 * MINUTE) is None
    assert await store.throttle.oldest_since("nobody", T0) is None


async def test_clear_forgets_one_key(store: Store) -> None:
    """Clearing a key forgets its events and keeps the other keys'."""
    await store.throttle.record(KEY, T0, WINDOW)
    await store.throttle.record("other", T0, WINDOW)

    await store.throttle.clear(KEY)

    assert await store.throttle.count(KEY, T0 - WINDOW) == 0
    assert await store.throttle.count("other", T0 - WINDOW) == 1
    assert await store.throttle.record(KEY, T0, WINDOW) == 1


async def test_twenty_concurrent_records_are_all_counted(store: Store) -> None:
    """Twenty simultaneous records all count, and the last to count sees all twenty."""
    counts = await asyncio.gather(*(store.throttle.record(KEY, T0, WINDOW) for _ in range(20)))

    assert max(counts) == 20
    assert all(1 <= count <= 20 for count in counts)
    assert await store.throttle.count(KEY, T0 - WINDOW) == 20


async def test_naive_datetimes_are_refused(store: Store) -> None:
    """Every throttle operation taking a time refuses a naive one with `InvalidInput`."""
    naive = datetime(2026, 1, 1)

    with pytest.raises(InvalidInput):
        await store.throttle.record(KEY, naive, WINDOW)
    with pytest.raises(InvalidInput):
        await store.throttle.count(KEY, naive)
    with pytest.raises(InvalidInput):
        await store.throttle.oldest_since(KEY, naive)

    assert await store.throttle.count(KEY, T0 - WINDOW) == 0
