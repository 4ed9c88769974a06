"""Append-only records, written once for both adapters: the access audit, the activity log and
the appliances' status history.

Each is a model with an `id` and a time `at`, listed newest first by `(at, id)` and deleted
in bulk. A backend gives an `EventTable` over the model's `Table` (`sqlite.events`,
`mongo.events`); the repositories here say, in model field names, which records each
operation means. A new append-only entity is a `Table` in `codecs`, a repository here and one
line in each store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from mykerio.models import AccessEvent, ActivityEvent, StatusChange
from mykerio.store.base import OperationObserver
from mykerio.store.observed import observed
from mykerio.store.values import require_positive

M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class Where:
    """Which records, by model field names: `equal` fields have these values (a `None` value
    sets no condition), `one_of` fields one of theirs, and `since <= at < until` (either bound
    may be `None`).
    """

    equal: Mapping[str, object] = field(default_factory=dict)
    one_of: Mapping[str, Sequence[object]] = field(default_factory=dict)
    since: datetime | None = None
    until: datetime | None = None


class EventTable(Protocol[M]):
    """One backend's table of append-only records of model `M`."""

    async def add(self, record: M, what: str) -> M:
        """Store a new record and return it as stored; `Conflict` naming `what` if its id is
        taken.
        """
        ...

    async def page(
        self, where: Where, *, limit: int, before: tuple[datetime, str] | None
    ) -> list[M]:
        """At most `limit` (at least 1) matching records older than `before`, newest first."""
        ...

    async def add_many(self, records: Sequence[M], what: str) -> None:
        """Store new records in one operation; `Conflict` naming `what` if an id is taken
        (SQLite then stores none; MongoDB, without transactions, those before it)."""
        ...

    async def delete(self, where: Where) -> int:
        """Delete the matching records; return how many."""
        ...


class AuditLog:
    """`AuditRepository` on the `access_events` table."""

    domain = "audit"

    def __init__(
        self, events: EventTable[AccessEvent], on_operation: OperationObserver | None
    ) -> None:
        self._events = events
        self.on_operation = on_operation

    @observed
    async def add(self, event: AccessEvent) -> AccessEvent:
        """Store a new event and return it as stored; `Conflict` if the id is taken."""
        return await self._events.add(event, f"an access event with id {event.id}")

    @observed
    async def query(
        self,
        *,
        user_ids: Sequence[str],
        ip: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        action: str | None = None,
        limit: int,
        before: tuple[datetime, str] | None = None,
    ) -> list[AccessEvent]:
        """At most `limit` matching events of these users, newest first, before `before`."""
        require_positive("limit", limit)
        if not user_ids:
            return []
        where = Where(
            equal={"ip": ip, "action": action},
            one_of={"user_id": user_ids},
            since=since,
            until=until,
        )
        return await self._events.page(where, limit=limit, before=before)

    @observed
    async def delete_older_than(self, at: datetime) -> int:
        """Delete the events before `at`; return how many."""
        return await self._events.delete(Where(until=at))


class ActivityLog:
    """`ActivityRepository` on the `activity_events` table."""

    domain = "activity"

    def __init__(
        self, events: EventTable[ActivityEvent], on_operation: OperationObserver | None
    ) -> None:
        self._events = events
        self.on_operation = on_operation

    @observed
    async def add(self, event: ActivityEvent) -> ActivityEvent:
        """Store a new event and return it as stored; `Conflict` if the id is taken."""
        return await self._events.add(event, f"an activity event with id {event.id}")

    @observed
    async def query(
        self,
        *,
        org_id: str,
        action: str | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int,
        before: tuple[datetime, str] | None = None,
    ) -> list[ActivityEvent]:
        """At most `limit` matching events of the organization, newest first, before `before`."""
        where = Where(
            equal={"org_id": org_id, "action": action, "actor_id": actor_id},
            since=since,
            until=until,
        )
        return await self._events.page(where, limit=limit, before=before)

    @observed
    async def delete_for_org(self, org_id: str) -> int:
        """Delete the organization's events; return how many."""
        return await self._events.delete(Where(equal={"org_id": org_id}))


class StatusHistoryLog:
    """`StatusHistoryRepository` on the `status_changes` table."""

    domain = "status_history"

    def __init__(
        self, events: EventTable[StatusChange], on_operation: OperationObserver | None
    ) -> None:
        self._events = events
        self.on_operation = on_operation

    @observed
    async def add(self, change: StatusChange) -> StatusChange:
        """Store a status change and return it as stored; `Conflict` if the id is taken."""
        return await self._events.add(change, f"a status change with id {change.id}")

    @observed
    async def for_appliance(
        self, appliance_id: str, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[StatusChange]:
        """At most `limit` changes of the appliance, newest first, older than `before`."""
        where = Where(equal={"appliance_id": appliance_id})
        return await self._events.page(where, limit=limit, before=before)

    @observed
    async def delete_for_appliance(self, appliance_id: str) -> int:
        """Delete the appliance's status history; return how many changes went."""
        return await self._events.delete(Where(equal={"appliance_id": appliance_id}))
