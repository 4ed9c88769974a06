"""SQLite repository of the access audit, paged newest first by `(at, id)`."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from mykerio.models import AccessEvent
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import ACCESS_EVENTS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict
from mykerio.store.sqlite.pages import PageQuery
from mykerio.store.sqlite.tables import insert_row
from mykerio.store.values import require_positive, to_millis


class SqliteAudit:
    """`AuditRepository` on the `access_events` table."""

    domain = "audit"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, event: AccessEvent) -> AccessEvent:
        """Store a new event and return it as stored; `Conflict` if the id is taken."""
        params = ACCESS_EVENTS.sqlite.encode(event)

        def insert(connection: sqlite3.Connection) -> AccessEvent:
            with duplicates_conflict(f"an access event with id {event.id}"):
                row = insert_row(connection, ACCESS_EVENTS, params)
            return ACCESS_EVENTS.sqlite.decode(row)

        return await self._database.run(insert)

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
        query, params = (
            PageQuery("access_events")
            .one_of("user_id", user_ids)
            .equal("ip", ip)
            .window(since, until)
            .equal("action", action)
            .sql(limit=limit, before=before)
        )

        def select(connection: sqlite3.Connection) -> list[AccessEvent]:
            rows = connection.execute(query, params).fetchall()
            return [ACCESS_EVENTS.sqlite.decode(row) for row in rows]

        return await self._database.run(select)

    @observed
    async def delete_older_than(self, at: datetime) -> int:
        """Delete the events before `at`; return how many."""
        statement = "DELETE FROM access_events WHERE at < ?"
        return await self._database.rows_changed(statement, (to_millis(at),))
