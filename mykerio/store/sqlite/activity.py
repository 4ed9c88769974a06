"""SQLite repository of the organizations' activity logs, paged newest first by `(at, id)`."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mykerio.models import ActivityEvent
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import ACTIVITY_EVENTS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict
from mykerio.store.sqlite.pages import PageQuery
from mykerio.store.sqlite.tables import insert_row


class SqliteActivity:
    """`ActivityRepository` on the `activity_events` table."""

    domain = "activity"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, event: ActivityEvent) -> ActivityEvent:
        """Store a new event and return it as stored; `Conflict` if the id is taken."""
        params = ACTIVITY_EVENTS.sqlite.encode(event)

        def insert(connection: sqlite3.Connection) -> ActivityEvent:
            with duplicates_conflict(f"an activity event with id {event.id}"):
                row = insert_row(connection, ACTIVITY_EVENTS, params)
            return ACTIVITY_EVENTS.sqlite.decode(row)

        return await self._database.run(insert)

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
        query, params = (
            PageQuery("activity_events")
            .equal("org_id", org_id)
            .equal("action", action)
            .equal("actor_id", actor_id)
            .window(since, until)
            .sql(limit=limit, before=before)
        )

        def select(connection: sqlite3.Connection) -> list[ActivityEvent]:
            rows = connection.execute(query, params).fetchall()
            return [ACTIVITY_EVENTS.sqlite.decode(row) for row in rows]

        return await self._database.run(select)

    @observed
    async def delete_for_org(self, org_id: str) -> int:
        """Delete the organization's events; return how many."""
        statement = "DELETE FROM activity_events WHERE org_id = ?"
        return await self._database.rows_changed(statement, (org_id,))
