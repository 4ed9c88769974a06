"""The access audit contract: filtered queries, keyset pages and retention.

Runs against SQLite and MongoDB.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from mykerio.errors import Conflict, InvalidInput
from mykerio.models import AccessEvent
from mykerio.store import Store
from tests.store.factories import T0, make_event

MINUTE = timedelta(minutes=1)


def newest_first(events: list[AccessEvent]) -> list[AccessEvent]:
    """`events` in the audit's order: latest time first, ties by greater id."""
    return sorted(events, key=lambda event: (event.at, event.id), reverse=True)


async def all_pages(
    store: Store, page_size: int, *, action: str | None = None, since: datetime | None = None
) -> list[list[AccessEvent]]:
    """Every page of a query for `u1` and `u2`, following `before` from each page's last event."""
    pages: list[list[AccessEvent]] = []
    before: tuple[datetime, str] | None = None
    while True:
        page = await store.audit.query(
            user_ids=["u1", "u2"], action=action, since=since, limit=page_size, before=before
        )
        if not page:
            return pages
        pages.append(page)
        before = (page[-1].at, page[-1].id)


async def test_add_and_duplicate_id(store: Store) -> None:
    """An event comes back as added; a second one with its id is refused."""
    event = make_event()

    assert await store.audit.add(event) == event
    with pytest.raises(Conflict):
        await store.audit.add(dataclasses.replace(event, action="logout"))

    assert await store.audit.query(user_ids=["u1"], limit=10) == [event]


async def test_query_filters_by_users_ip_action_and_time(store: Store) -> None:
    """Each filter narrows the result; the time range includes `since` and excludes `until`."""
    events = [
        await store.audit.add(make_event(T0, user_id="u1", ip="192.0.2.1", action="login")),
        await store.audit.add(make_event(T0 + MINUTE, user_id="u2", ip="192.0.2.2")),
        await store.audit.add(
            make_event(T0 + 2 * MINUTE, user_id="u1", ip="192.0.2.2", action="login_failed")
        ),
        await store.audit.add(make_event(T0 + 3 * MINUTE, user_id="u3", action="logout")),
    ]
    both = ["u1", "u2"]

    assert await store.audit.query(user_ids=both, limit=10) == newest_first(events[:3])
    assert await store.audit.query(user_ids=["u1"], limit=10) == [events[2], events[0]]
    assert await store.audit.query(user_ids=both, ip="192.0.2.2", limit=10) == [
        events[2],
        events[1],
    ]
    assert await store.audit.query(user_ids=both, action="login_failed", limit=10) == [events[2]]
    assert await store.audit.query(
        user_ids=both, since=T0 + MINUTE, until=T0 + 2 * MINUTE, limit=10
    ) == [events[1]]
    assert await store.audit.query(user_ids=[], limit=10) == []
    assert await store.audit.query(user_ids=["nobody"], limit=10) == []


async def test_pages_cover_every_event_once_despite_equal_times(store: Store) -> None:
    """Keyset pages over events that share timestamps neither repeat nor skip any event."""
    events = [
        await store.audit.add(make_event(T0 + (i // 4) * MINUTE, user_id=f"u{1 + i % 2}"))
        for i in range(23)
    ]
    await store.audit.add(make_event(T0, user_id="u3"))

    for page_size in (1, 3, 4, 5, 23, 50):
        pages = await all_pages(store, page_size)
        assert [event for page in pages for event in page] == newest_first(events)
        assert all(len(page) == page_size for page in pages[:-1])


async def test_pages_follow_filters_too(store: Store) -> None:
    """Paging with filters gives exactly the filtered events, in order, once each."""
    events = [
        await store.audit.add(
            make_event(T0 + (i // 3) * MINUTE, action="login" if i % 3 else "login_failed")
        )
        for i in range(18)
    ]
    wanted = [event for event in events if event.action == "login" and event.at >= T0 + MINUTE]

    pages = await all_pages(store, 4, action="login", since=T0 + MINUTE)

    assert [event for page in pages for event in page] == newest_first(wanted)


async def test_before_with_equal_time_starts_after_that_id(store: Store) -> None:
    """`before` excludes its own event and the greater ids of the same time, not the lower."""
    events = [
        await store.audit.add(make_event(T0, event_id=event_id)) for event_id in ("a", "b", "c")
    ]
    earlier = await store.audit.add(make_event(T0 - MINUTE, event_id="z"))

    page = await store.audit.query(user_ids=["u1"], limit=10, before=(T0, "b"))

    assert page == [events[0], earlier]


async def test_delete_older_than_spares_the_boundary(store: Store) -> None:
    """Retention deletes events strictly before the time and keeps the rest."""
    old = await store.audit.add(make_event(T0 - MINUTE))
    at_cutoff = await store.audit.add(make_event(T0))

    assert await store.audit.delete_older_than(T0) == 1
    assert await store.audit.delete_older_than(T0) == 0

    assert await store.audit.query(user_ids=["u1"], limit=10) == [at_cutoff]
    assert old not in await store.audit.query(user_ids=["u1"], limit=10)


async def test_limit_below_one_and_naive_datetimes_are_invalid(store: Store) -> None:
    """A limit below 1 or a naive time raises `InvalidInput`."""
    naive = datetime(2026, 1, 1)

    with pytest.raises(InvalidInput):
        await store.audit.query(user_ids=["u1"], limit=0)
    with pytest.raises(InvalidInput):
        await store.audit.query(user_ids=["u1"], since=naive, limit=10)
    with pytest.raises(InvalidInput):
        await store.audit.query(user_ids=["u1"], before=(naive, "a"), limit=10)
    with pytest.raises(InvalidInput):
        await store.audit.add(make_event(naive))
    with pytest.raises(InvalidInput):
        await store.audit.delete_older_than(naive)
