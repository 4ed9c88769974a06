"""SQLite repository of the appliances' status history, paged newest first by `(at, id)`."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mykerio.models import StatusChange
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import STATUS_CHANGES
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict
from mykerio.store.sqlite.tables import insert_row
from mykerio.store.values import require_positive, to_millis

_NEWEST = """
SELECT * FROM status_changes WHERE appliance_id = ?
ORDER BY at DESC, id DESC LIMIT ?
"""

# Row values compare left to right: an earlier time, or the same time and a lower id.
_NEWEST_BEFORE = """
SELECT * FROM status_changes WHERE appliance_id = ? AND (at, id) < (?, ?)
ORDER BY at DESC, id DESC LIMIT ?
"""


class SqliteStatusHistory:
    """`StatusHistoryRepository` on the `status_changes` table."""

    domain = "status_history"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, change: StatusChange) -> StatusChange:
        """Store a status change and return it as stored; `Conflict` if the id is taken."""
        params = STATUS_CHANGES.sqlite.encode(change)

        def insert(connection: sqlite3.Connection) -> StatusChange:
            with duplicates_conflict(f"a status change with id {change.id}"):
                row = insert_row(connection, STATUS_CHANGES, params)
            return STATUS_CHANGES.sqlite.decode(row)

        return await self._database.run(insert)

    @observed
    async def for_appliance(
        self, appliance_id: str, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[StatusChange]:
        """At most `limit` changes of the appliance, newest first, older than `before`."""
        require_positive("limit", limit)
        query, params = _NEWEST, [appliance_id, limit]
        if before is not None:
            query, params = _NEWEST_BEFORE, [appliance_id, to_millis(before[0]), before[1], limit]

        def select(connection: sqlite3.Connection) -> list[StatusChange]:
            rows = connection.execute(query, params).fetchall()
            return [STATUS_CHANGES.sqlite.decode(row) for row in rows]

        return await self._database.run(select)

    @observed
    async def delete_for_appliance(self, appliance_id: str) -> int:
        """Delete the appliance's status history; return how many changes went."""
        statement = "DELETE FROM status_changes WHERE appliance_id = ?"
        return await self._database.rows_changed(statement, (appliance_id,))
