"""The pairings contract: single-use pairing codes, one per appliance key, and their expiry.

Runs against SQLite and MongoDB; consumption is raced 20 ways.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta

import pytest

from mykerio.errors import Conflict, InvalidInput
from mykerio.store import Store
from tests.store.factories import KEY, PAIRING_VALID, T0, make_pairing

EXPIRY = T0 + PAIRING_VALID
MILLISECOND = timedelta(milliseconds=1)
OTHER_KEY = b"\x01other-key\x80"


async def test_consume_returns_the_pairing_once(store: Store) -> None:
    """A valid pairing is found by peek and for_key, returned by one consume, then gone."""
    pairing = await store.pairings.add(make_pairing())

    assert await store.pairings.peek(pairing.code_hash, T0) == pairing
    assert await store.pairings.for_key(KEY, T0) == pairing
    assert await store.pairings.consume(pairing.code_hash, T0) == pairing

    assert await store.pairings.consume(pairing.code_hash, T0) is None
    assert await store.pairings.peek(pairing.code_hash, T0) is None
    assert await store.pairings.for_key(KEY, T0) is None


async def test_twenty_concurrent_consumes_let_one_win(store: Store) -> None:
    """Of twenty simultaneous consumes of one pairing exactly one gets it."""
    pairing = await store.pairings.add(make_pairing())

    outcomes = await asyncio.gather(
        *(store.pairings.consume(pairing.code_hash, T0) for _ in range(20))
    )

    assert [outcome for outcome in outcomes if outcome is not None] == [pairing]


async def test_a_newer_pairing_replaces_the_keys_older_ones(store: Store) -> None:
    """Adding a pairing for a key voids that key's earlier codes and spares other keys."""
    older = await store.pairings.add(make_pairing())
    other = await store.pairings.add(make_pairing(OTHER_KEY))

    newer = await store.pairings.add(make_pairing(created_at=T0 + timedelta(minutes=1)))

    assert await store.pairings.peek(older.code_hash, T0) is None
    assert await store.pairings.consume(older.code_hash, T0) is None
    assert await store.pairings.for_key(KEY, T0) == newer
    assert await store.pairings.for_key(OTHER_KEY, T0) == other
    assert await store.pairings.consume(newer.code_hash, T0) == newer


async def test_duplicate_code_hash_conflicts_and_keeps_the_first(store: Store) -> None:
    """A second pairing with a taken code hash is refused, also for the same key."""
    first = await store.pairings.add(make_pairing())

    with pytest.raises(Conflict):
        await store.pairings.add(first)
    with pytest.raises(Conflict):
        await store.pairings.add(dataclasses.replace(first, public_key=OTHER_KEY))

    assert await store.pairings.peek(first.code_hash, T0) == first
    assert await store.pairings.for_key(OTHER_KEY, T0) is None


async def test_a_pairing_expires_at_its_expiry_time(store: Store) -> None:
    """A pairing is valid up to 1 ms before `expires_at`; at it, it is found by nothing."""
    pairing = await store.pairings.add(make_pairing())
    last_valid = EXPIRY - MILLISECOND

    assert await store.pairings.peek(pairing.code_hash, last_valid) == pairing
    assert await store.pairings.for_key(KEY, last_valid) == pairing
    assert await store.pairings.peek(pairing.code_hash, EXPIRY) is None
    assert await store.pairings.for_key(KEY, EXPIRY) is None
    assert await store.pairings.consume(pairing.code_hash, last_valid) == pairing

    expired = await store.pairings.add(make_pairing())
    assert await store.pairings.consume(expired.code_hash, EXPIRY) is None
    # The refused consume deleted it: nothing is left to clean up.
    assert await store.pairings.delete_expired(EXPIRY) == 0


async def test_delete_expired_includes_the_expiry_time(store: Store) -> None:
    """Cleanup deletes pairings with `expires_at` at or before now and keeps later ones."""
    early = await store.pairings.add(make_pairing(b"k1", expires_at=EXPIRY - MILLISECOND))
    on_time = await store.pairings.add(make_pairing(b"k2", expires_at=EXPIRY))
    later = await store.pairings.add(make_pairing(b"k3", expires_at=EXPIRY + MILLISECOND))

    assert await store.pairings.delete_expired(EXPIRY) == 2

    assert await store.pairings.peek(early.code_hash, T0) is None
    assert await store.pairings.peek(on_time.code_hash, T0) is None
    assert await store.pairings.peek(later.code_hash, T0) == later


async def test_naive_datetimes_are_refused(store: Store) -> None:
    """Every pairing operation taking a time refuses a naive one with `InvalidInput`."""
    naive = datetime(2026, 1, 1)
    pairing = await store.pairings.add(make_pairing())

    with pytest.raises(InvalidInput):
        await store.pairings.add(make_pairing(OTHER_KEY, expires_at=naive))
    for operation in (store.pairings.peek, store.pairings.consume):
        with pytest.raises(InvalidInput):
            await operation(pairing.code_hash, naive)
    with pytest.raises(InvalidInput):
        await store.pairings.for_key(KEY, naive)
    with pytest.raises(InvalidInput):
        await store.pairings.delete_expired(naive)

    assert await store.pairings.peek(pairing.code_hash, T0) == pairing


async def test_delete_for_key_withdraws_only_that_keys_codes(store: Store) -> None:
    """A key's codes stop working; another key's stay."""
    mine = await store.pairings.add(make_pairing())
    other = await store.pairings.add(make_pairing(OTHER_KEY))
    assert await store.pairings.delete_for_key(KEY) == 1
    assert await store.pairings.peek(mine.code_hash, T0) is None
    assert await store.pairings.peek(other.code_hash, T0) == other
    assert await store.pairings.delete_for_key(KEY) == 0
