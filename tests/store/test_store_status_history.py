"""The status history contract: each appliance's status changes in keyset pages, newest first.

Runs against SQLite and MongoDB.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from mykerio.errors import Conflict, InvalidInput
from mykerio.models import StatusChange
from mykerio.store import Store
from tests.store.factories import T0, make_status_change


def newest_first(changes: list[StatusChange]) -> list[StatusChange]:
    """`changes` in the history's order: latest time first, ties by greater id."""
    return sorted(changes, key=lambda change: (change.at, change.id), reverse=True)


async def all_pages(store: Store, appliance_id: str, page_size: int) -> list[list[StatusChange]]:
    """Every page of the appliance's history, following `before` from each page's last change."""
    pages: list[list[StatusChange]] = []
    before: tuple[datetime, str] | None = None
    while page := await store.status_history.for_appliance(
        appliance_id, limit=page_size, before=before
    ):
        pages.append(page)
        before = (page[-1].at, page[-1].id)
    return pages


async def test_add_round_trips_and_refuses_a_taken_id(store: Store) -> None:
    """A change comes back with every field as added; a second one with its id is refused."""
    change = await store.status_history.add(make_status_change())

    with pytest.raises(Conflict):
        await store.status_history.add(dataclasses.replace(change, status="red"))

    assert change.reasons == ("Low memory", "Update available")
    assert await store.status_history.for_appliance("a1", limit=10) == [change]


async def test_pages_neither_repeat_nor_skip_changes_with_equal_times(store: Store) -> None:
    """Paging three at a time through changes sharing timestamps yields each change once."""
    times = [T0, T0, T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), T0 - timedelta(1)]
    changes = [
        await store.status_history.add(make_status_change(at, change_id=f"c{i}"))
        for i, at in enumerate(times)
    ]
    changes.append(await store.status_history.add(make_status_change(T0, change_id="c9")))

    pages = await all_pages(store, "a1", page_size=3)

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [change for page in pages for change in page] == newest_first(changes)


async def test_history_is_per_appliance_and_deleted_per_appliance(store: Store) -> None:
    """An appliance's history lists only its changes; deleting it spares the others'."""
    mine = [await store.status_history.add(make_status_change(T0 + timedelta(i))) for i in range(3)]
    theirs = await store.status_history.add(make_status_change(appliance_id="a2", status="green"))

    assert await store.status_history.for_appliance("a1", limit=2) == newest_first(mine)[:2]
    assert await store.status_history.delete_for_appliance("a1") == 3
    assert await store.status_history.delete_for_appliance("a1") == 0

    assert await store.status_history.for_appliance("a1", limit=10) == []
    assert await store.status_history.for_appliance("a2", limit=10) == [theirs]


async def test_bad_limits_and_naive_times_are_refused(store: Store) -> None:
    """A limit below 1 and naive datetimes raise `InvalidInput` and store nothing."""
    naive = datetime(2026, 1, 1)

    with pytest.raises(InvalidInput):
        await store.status_history.for_appliance("a1", limit=0)
    with pytest.raises(InvalidInput):
        await store.status_history.for_appliance("a1", limit=5, before=(naive, "c1"))
    with pytest.raises(InvalidInput):
        await store.status_history.add(make_status_change(naive))

    assert await store.status_history.for_appliance("a1", limit=5) == []
