"""SQLite repository of login sessions."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mykerio.models import Session
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import SESSIONS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict
from mykerio.store.sqlite.tables import insert_row
from mykerio.store.values import to_millis


class SqliteSessions:
    """`SessionRepository` on the `sessions` table."""

    domain = "sessions"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, session: Session) -> Session:
        """Store a new session and return it as stored; `Conflict` if the hash is taken."""
        params = SESSIONS.sqlite.encode(session)

        def insert(connection: sqlite3.Connection) -> Session:
            with duplicates_conflict("a session with this id"):
                row = insert_row(connection, SESSIONS, params)
            return SESSIONS.sqlite.decode(row)

        return await self._database.run(insert)

    @observed
    async def get(self, id_hash: str) -> Session | None:
        """The session with this id hash, or `None`."""

        def select(connection: sqlite3.Connection) -> Session | None:
            query = "SELECT * FROM sessions WHERE id_hash = ?"
            row = connection.execute(query, (id_hash,)).fetchone()
            return None if row is None else SESSIONS.sqlite.decode(row)

        return await self._database.run(select)

    @observed
    async def touch(self, id_hash: str, at: datetime) -> None:
        """Record activity at `at`; `last_seen` never moves back. A missing session is ignored."""
        statement = "UPDATE sessions SET last_seen = MAX(last_seen, ?) WHERE id_hash = ?"
        await self._database.rows_changed(statement, (to_millis(at), id_hash))

    @observed
    async def revoke(self, id_hash: str) -> bool:
        """Delete the session; `True` if it existed."""
        statement = "DELETE FROM sessions WHERE id_hash = ?"
        return await self._database.rows_changed(statement, (id_hash,)) > 0

    @observed
    async def revoke_user(self, user_id: str, *, keep: str | None = None) -> int:
        """Delete every session of the user except `keep`; return how many were deleted."""
        # `IS NOT` is true for every id when `keep` is NULL.
        statement = "DELETE FROM sessions WHERE user_id = ? AND id_hash IS NOT ?"
        return await self._database.rows_changed(statement, (user_id, keep))

    @observed
    async def for_user(self, user_id: str) -> list[Session]:
        """The user's sessions, oldest first (ties by id hash)."""
        query = "SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at, id_hash"

        def select(connection: sqlite3.Connection) -> list[Session]:
            rows = connection.execute(query, (user_id,)).fetchall()
            return [SESSIONS.sqlite.decode(row) for row in rows]

        return await self._database.run(select)

    @observed
    async def delete_idle(self, before: datetime, *, persistent: bool) -> int:
        """Delete the sessions of that kind last seen before `before`; return how many."""
        statement = "DELETE FROM sessions WHERE persistent = :persistent AND last_seen < :last_seen"
        params = SESSIONS.sqlite.encode_fields(persistent=persistent, last_seen=before)
        return await self._database.rows_changed(statement, params)
