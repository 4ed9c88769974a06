"""The sessions contract: storing, touching, revoking and cleaning up login sessions.

Runs against SQLite and MongoDB.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from mykerio.errors import Conflict, InvalidInput
from mykerio.store import Store
from tests.store.factories import T0, make_session


async def test_add_and_get(store: Store) -> None:
    """A session comes back as added; an unknown hash gives `None`."""
    session = make_session(persistent=True)

    assert await store.sessions.add(session) == session
    assert await store.sessions.get(session.id_hash) == session
    assert await store.sessions.get("missing") is None


async def test_duplicate_hash_conflicts(store: Store) -> None:
    """A second session with an existing hash is refused and the first stays."""
    first = await store.sessions.add(make_session("ann"))

    with pytest.raises(Conflict):
        await store.sessions.add(dataclasses.replace(first, user_id="bob"))

    assert await store.sessions.get(first.id_hash) == first


async def test_touch_moves_last_seen_forward_only(store: Store) -> None:
    """Touching records the later time; an earlier touch or an unknown session changes nothing."""
    session = await store.sessions.add(make_session())
    later = T0 + timedelta(minutes=10)

    await store.sessions.touch(session.id_hash, later)
    await store.sessions.touch(session.id_hash, T0 + timedelta(minutes=5))
    await store.sessions.touch("missing", later)

    assert await store.sessions.get(session.id_hash) == dataclasses.replace(
        session, last_seen=later
    )
    assert await store.sessions.get("missing") is None


async def test_revoke_deletes_once(store: Store) -> None:
    """Revoking deletes the session and says so; a second revoke finds nothing."""
    session = await store.sessions.add(make_session())
    other = await store.sessions.add(make_session())

    assert await store.sessions.revoke(session.id_hash)
    assert not await store.sessions.revoke(session.id_hash)

    assert await store.sessions.get(session.id_hash) is None
    assert await store.sessions.get(other.id_hash) == other


async def test_revoke_user_keeps_only_the_named_session(store: Store) -> None:
    """Revoking a user's sessions spares `keep` and other users, and counts what it deleted."""
    ann = [await store.sessions.add(make_session("ann")) for _ in range(3)]
    bob = await store.sessions.add(make_session("bob"))

    assert await store.sessions.revoke_user("ann", keep=ann[1].id_hash) == 2
    assert await store.sessions.for_user("ann") == [ann[1]]
    assert await store.sessions.revoke_user("ann") == 1
    assert await store.sessions.for_user("ann") == []
    assert await store.sessions.revoke_user("ann") == 0
    assert await store.sessions.for_user("bob") == [bob]


async def test_for_user_lists_oldest_first(store: Store) -> None:
    """A user's sessions come oldest first, ties by hash, without other users' sessions."""
    newer = make_session("ann")
    newer = await store.sessions.add(dataclasses.replace(newer, created_at=T0 + timedelta(1)))
    twins = sorted(
        [await store.sessions.add(make_session("ann")) for _ in range(2)], key=lambda s: s.id_hash
    )
    await store.sessions.add(make_session("bob"))

    assert await store.sessions.for_user("ann") == [*twins, newer]
    assert await store.sessions.for_user("nobody") == []


async def test_delete_idle_removes_only_that_kind_before_the_time(store: Store) -> None:
    """Idle cleanup removes sessions of one kind last seen strictly before the cut-off."""
    cutoff = T0 + timedelta(minutes=15)
    old = await store.sessions.add(make_session(last_seen=T0))
    at_cutoff = await store.sessions.add(make_session(last_seen=cutoff))
    old_persistent = await store.sessions.add(make_session(last_seen=T0, persistent=True))

    assert await store.sessions.delete_idle(cutoff, persistent=False) == 1
    assert await store.sessions.get(old.id_hash) is None
    assert await store.sessions.get(at_cutoff.id_hash) == at_cutoff
    assert await store.sessions.get(old_persistent.id_hash) == old_persistent

    assert await store.sessions.delete_idle(cutoff, persistent=True) == 1
    assert await store.sessions.get(old_persistent.id_hash) is None


async def test_naive_datetimes_are_refused(store: Store) -> None:
    """Adding, touching or cleaning up with a naive datetime raises `InvalidInput`."""
    naive = datetime(2026, 1, 1)
    session = await store.sessions.add(make_session())

    with pytest.raises(InvalidInput):
        await store.sessions.add(make_session(last_seen=naive))
    with pytest.raises(InvalidInput):
        await store.sessions.touch(session.id_hash, naive)
    with pytest.raises(InvalidInput):
        await store.sessions.delete_idle(naive, persistent=False)

    assert await store.sessions.for_user(session.user_id) == [session]
