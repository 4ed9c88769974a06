"""SQLite repository of rate-limit events, counted per key within a sliding window."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from mykerio.store.base import OperationObserver
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, transaction
from mykerio.store.values import from_millis, to_millis

_INSERT = "INSERT INTO throttle_events (key, at) VALUES (?, ?)"
_DELETE_BEFORE_WINDOW = "DELETE FROM throttle_events WHERE key = ? AND at <= ?"
_COUNT_IN_WINDOW = "SELECT COUNT(*) FROM throttle_events WHERE key = ? AND at > ? AND at <= ?"


class SqliteThrottle:
    """`ThrottleRepository` on the `throttle_events` table."""

    domain = "throttle"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def record(self, key: str, at: datetime, window: timedelta) -> int:
        """Store one event, drop the key's events outside the window, count those inside."""
        end = to_millis(at)
        start = to_millis(at - window)

        def record(connection: sqlite3.Connection) -> int:
            with transaction(connection):
                connection.execute(_INSERT, (key, end))
                connection.execute(_DELETE_BEFORE_WINDOW, (key, start))
                [count] = connection.execute(_COUNT_IN_WINDOW, (key, start, end)).fetchone()
            return int(count)

        return await self._database.run(record)

    @observed
    async def count(self, key: str, since: datetime) -> int:
        """How many events `key` has after `since` (exclusive)."""
        params = (key, to_millis(since))

        def select(connection: sqlite3.Connection) -> int:
            query = "SELECT COUNT(*) FROM throttle_events WHERE key = ? AND at > ?"
            [count] = connection.execute(query, params).fetchone()
            return int(count)

        return await self._database.run(select)

    @observed
    async def oldest_since(self, key: str, since: datetime) -> datetime | None:
        """The time of the key's oldest event after `since` (exclusive), or `None`."""
        params = (key, to_millis(since))

        def select(connection: sqlite3.Connection) -> datetime | None:
            query = "SELECT MIN(at) FROM throttle_events WHERE key = ? AND at > ?"
            [oldest] = connection.execute(query, params).fetchone()
            return None if oldest is None else from_millis(oldest)

        return await self._database.run(select)

    @observed
    async def clear(self, key: str) -> None:
        """Forget every event of `key`."""
        await self._database.rows_changed("DELETE FROM throttle_events WHERE key = ?", (key,))
