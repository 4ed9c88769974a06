"""SQLite repository of the notification relay (`relay_senders`, `relay_blacklist`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from mykerio.models import BlacklistEntry, RelaySender
from mykerio.store.base import OperationObserver
from mykerio.store.codec import Table
from mykerio.store.codecs import RELAY_BLACKLIST, RELAY_SENDERS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase
from mykerio.store.values import to_millis


def _replace_statement(table: Table[Any]) -> str:
    columns = table.sqlite.columns
    placeholders = ", ".join(f":{column}" for column in columns)
    # Table and column names come from the codecs, never from input; values stay parameters.
    return f"INSERT OR REPLACE INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608


class SqliteRelay:
    """`RelayRepository` on two tables keyed by sender id and by address."""

    domain = "relay"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def sender(self, sender_id: str) -> RelaySender | None:
        """One sender's record, or None."""

        def select(connection: sqlite3.Connection) -> RelaySender | None:
            query = "SELECT * FROM relay_senders WHERE id = ?"
            row = connection.execute(query, (sender_id,)).fetchone()
            return None if row is None else RELAY_SENDERS.sqlite.decode(row)

        return await self._database.run(select)

    @observed
    async def save_sender(self, sender: RelaySender) -> None:
        """Insert or replace a sender's record."""
        await self._replace(RELAY_SENDERS, RELAY_SENDERS.sqlite.encode(sender))

    @observed
    async def blacklist(self) -> list[BlacklistEntry]:
        """Every entry, by address."""

        def select(connection: sqlite3.Connection) -> list[BlacklistEntry]:
            rows = connection.execute("SELECT * FROM relay_blacklist ORDER BY address").fetchall()
            return [RELAY_BLACKLIST.sqlite.decode(row) for row in rows]

        return await self._database.run(select)

    @observed
    async def save_blacklisted(self, entry: BlacklistEntry) -> None:
        """Insert or replace an entry."""
        await self._replace(RELAY_BLACKLIST, RELAY_BLACKLIST.sqlite.encode(entry))

    @observed
    async def remove_blacklisted(self, address: str) -> bool:
        """Delete one entry; whether there was one."""

        def delete(connection: sqlite3.Connection) -> bool:
            statement = "DELETE FROM relay_blacklist WHERE address = ?"
            return connection.execute(statement, (address,)).rowcount > 0

        return await self._database.run(delete)

    @observed
    async def delete_released(self, now: datetime) -> int:
        """Delete the entries released by `now`."""
        at = to_millis(now)

        def delete(connection: sqlite3.Connection) -> int:
            statement = "DELETE FROM relay_blacklist WHERE release_at <= ?"
            return connection.execute(statement, (at,)).rowcount

        return await self._database.run(delete)

    async def _replace(self, table: Table[Any], params: dict[str, Any]) -> None:
        statement = _replace_statement(table)

        def write(connection: sqlite3.Connection) -> None:
            connection.execute(statement, params)

        await self._database.run(write)
