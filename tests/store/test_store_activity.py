"""The activity log contract: per-organization events, filtered queries and keyset pages.

Runs against SQLite and MongoDB.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from mykerio.errors import Conflict, InvalidInput
from mykerio.models import ActivityEvent
from mykerio.store import Store
from tests.store.factories import T0, make_activity

MINUTE = timedelta(minutes=1)


def newest_first(events: list[ActivityEvent]) -> list[ActivityEvent]:
    """`events` in the log's order: latest time first, ties by greater id."""
    return sorted(events, key=lambda event: (event.at, event.id), reverse=True)


async def all_pages(
    store: Store,
    page_size: int,
    *,
    action: str | None = None,
    actor_id: str | None = None,
    since: datetime | None = None,
) -> list[list[ActivityEvent]]:
    """Every page of `org1`'s log, following `before` from each page's last event."""
    pages: list[list[ActivityEvent]] = []
    before: tuple[datetime, str] | None = None
    while True:
        page = await store.activity.query(
            org_id="org1",
            action=action,
            actor_id=actor_id,
            since=since,
            limit=page_size,
            before=before,
        )
        if not page:
            return pages
        pages.append(page)
        before = (page[-1].at, page[-1].id)


async def test_add_round_trips_and_refuses_a_taken_id(store: Store) -> None:
    """An event comes back with every field as added; a second one with its id is refused."""
    event = dataclasses.replace(
        make_activity(action="organization_renamed"), target="Acme", detail="to Acme Corp"
    )

    assert await store.activity.add(event) == event
    with pytest.raises(Conflict):
        await store.activity.add(dataclasses.replace(event, action="member_left"))

    assert await store.activity.query(org_id="org1", limit=10) == [event]


async def test_query_filters_by_organization_action_actor_and_time(store: Store) -> None:
    """Each filter narrows the result; the time range includes `since` and excludes `until`."""
    events = [
        await store.activity.add(make_activity(T0, actor_id="u1", action="organization_created")),
        await store.activity.add(make_activity(T0 + MINUTE, actor_id="u2")),
        await store.activity.add(
            make_activity(T0 + 2 * MINUTE, actor_id="u1", action="member_removed")
        ),
        await store.activity.add(make_activity(T0 + 3 * MINUTE, actor_id="u2")),
    ]
    other_org = await store.activity.add(make_activity(T0 + MINUTE, org_id="org2"))

    assert await store.activity.query(org_id="org1", limit=10) == newest_first(events)
    assert await store.activity.query(org_id="org2", limit=10) == [other_org]
    assert await store.activity.query(org_id="org1", action="member_invited", limit=10) == [
        events[3],
        events[1],
    ]
    assert await store.activity.query(org_id="org1", actor_id="u1", limit=10) == [
        events[2],
        events[0],
    ]
    assert await store.activity.query(
        org_id="org1", actor_id="u2", action="member_invited", until=T0 + 3 * MINUTE, limit=10
    ) == [events[1]]
    assert await store.activity.query(
        org_id="org1", since=T0 + MINUTE, until=T0 + 3 * MINUTE, limit=10
    ) == [events[2], events[1]]
    assert await store.activity.query(org_id="org1", limit=2) == [events[3], events[2]]
    assert await store.activity.query(org_id="nowhere", limit=10) == []


async def test_pages_cover_every_event_once_despite_equal_times(store: Store) -> None:
    """Keyset pages over events that share timestamps neither repeat nor skip any event."""
    events = [
        await store.activity.add(make_activity(T0 + (i // 4) * MINUTE, actor_id=f"u{1 + i % 2}"))
        for i in range(23)
    ]
    await store.activity.add(make_activity(T0, org_id="org2"))

    for page_size in (1, 3, 4, 5, 23, 50):
        pages = await all_pages(store, page_size)
        assert [event for page in pages for event in page] == newest_first(events)
        assert all(len(page) == page_size for page in pages[:-1])


async def test_pages_follow_filters_too(store: Store) -> None:
    """Paging with filters gives exactly the filtered events, in order, once each."""
    events = [
        await store.activity.add(
            make_activity(
                T0 + (i // 3) * MINUTE,
                actor_id="u1" if i % 2 else "u2",
                action="member_invited" if i % 3 else "invitation_revoked",
            )
        )
        for i in range(30)
    ]
    wanted = [
        event
        for event in events
        if event.action == "member_invited" and event.actor_id == "u1" and event.at >= T0 + MINUTE
    ]

    pages = await all_pages(store, 2, action="member_invited", actor_id="u1", since=T0 + MINUTE)

    assert [event for page in pages for event in page] == newest_first(wanted)


async def test_before_with_equal_time_starts_after_that_id(store: Store) -> None:
    """`before` excludes its own event and the greater ids of the same time, not the lower."""
    events = [
        await store.activity.add(make_activity(T0, event_id=event_id))
        for event_id in ("a", "b", "c")
    ]
    earlier = await store.activity.add(make_activity(T0 - MINUTE, event_id="z"))

    page = await store.activity.query(org_id="org1", limit=10, before=(T0, "b"))

    assert page == [events[0], earlier]


async def test_delete_for_org_spares_other_organizations(store: Store) -> None:
    """Deleting an organization's log removes its events only, and counts them."""
    for i in range(3):
        await store.activity.add(make_activity(T0 + i * MINUTE))
    kept = await store.activity.add(make_activity(T0, org_id="org2"))

    assert await store.activity.delete_for_org("org1") == 3
    assert await store.activity.delete_for_org("org1") == 0

    assert await store.activity.query(org_id="org1", limit=10) == []
    assert await store.activity.query(org_id="org2", limit=10) == [kept]


async def test_limit_below_one_and_naive_datetimes_are_invalid(store: Store) -> None:
    """A limit below 1 or a naive time raises `InvalidInput`."""
    naive = datetime(2026, 1, 1)

    with pytest.raises(InvalidInput):
        await store.activity.query(org_id="org1", limit=0)
    with pytest.raises(InvalidInput):
        await store.activity.query(org_id="org1", since=naive, limit=10)
    with pytest.raises(InvalidInput):
        await store.activity.query(org_id="org1", until=naive, limit=10)
    with pytest.raises(InvalidInput):
        await store.activity.query(org_id="org1", before=(naive, "a"), limit=10)
    with pytest.raises(InvalidInput):
        await store.activity.add(make_activity(naive))

    assert await store.activity.query(org_id="org1", limit=10) == []
