"""SQLite repository of single-use tokens."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mykerio.models import OneTimeToken
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import TOKENS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict
from mykerio.store.sqlite.tables import insert_row
from mykerio.store.values import to_millis

# One statement, so atomic by itself: whoever deletes the row is the one who used it up.
_CONSUME = "DELETE FROM tokens WHERE token_hash = ? AND purpose = ? RETURNING *"

_PEEK = "SELECT * FROM tokens WHERE token_hash = ? AND purpose = ? AND expires_at > ?"


class SqliteTokens:
    """`TokenRepository` on the `tokens` table."""

    domain = "tokens"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, token: OneTimeToken) -> OneTimeToken:
        """Store a new token and return it as stored; `Conflict` if the hash is taken."""
        params = TOKENS.sqlite.encode(token)

        def insert(connection: sqlite3.Connection) -> OneTimeToken:
            with duplicates_conflict("a token with this hash"):
                row = insert_row(connection, TOKENS, params)
            return TOKENS.sqlite.decode(row)

        return await self._database.run(insert)

    @observed
    async def consume(self, token_hash: str, purpose: str, now: datetime) -> OneTimeToken | None:
        """Atomically use the token up: it if valid for `purpose` at `now`, else `None`."""
        now_millis = to_millis(now)

        def delete(connection: sqlite3.Connection) -> OneTimeToken | None:
            rows = connection.execute(_CONSUME, (token_hash, purpose)).fetchall()
            if not rows or rows[0]["expires_at"] <= now_millis:
                return None
            return TOKENS.sqlite.decode(rows[0])

        return await self._database.run(delete)

    @observed
    async def peek(self, token_hash: str, purpose: str, now: datetime) -> OneTimeToken | None:
        """The token if it has this purpose and `expires_at > now`, without using it up."""
        params = (token_hash, purpose, to_millis(now))

        def select(connection: sqlite3.Connection) -> OneTimeToken | None:
            row = connection.execute(_PEEK, params).fetchone()
            return None if row is None else TOKENS.sqlite.decode(row)

        return await self._database.run(select)

    @observed
    async def delete_for_user(self, user_id: str, purpose: str) -> int:
        """Delete the user's tokens of this purpose; return how many."""
        statement = "DELETE FROM tokens WHERE user_id = ? AND purpose = ?"
        return await self._database.rows_changed(statement, (user_id, purpose))

    @observed
    async def delete_expired(self, now: datetime) -> int:
        """Delete every token with `expires_at <= now`; return how many."""
        statement = "DELETE FROM tokens WHERE expires_at <= ?"
        return await self._database.rows_changed(statement, (to_millis(now),))
