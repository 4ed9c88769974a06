"""SQLite repository of pairing codes, one per appliance key at a time."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mykerio.models import Pairing
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import PAIRINGS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict, transaction
from mykerio.store.sqlite.tables import insert_row
from mykerio.store.values import to_millis

# One statement, so atomic by itself: whoever deletes the row is the one who used it up.
_CONSUME = "DELETE FROM pairings WHERE code_hash = ? RETURNING *"

_PEEK = "SELECT * FROM pairings WHERE code_hash = ? AND expires_at > ?"

_FOR_KEY = """
SELECT * FROM pairings WHERE public_key = ? AND expires_at > ?
ORDER BY created_at DESC, code_hash DESC LIMIT 1
"""

# Keeps a row with the new code hash, so adding a taken hash still meets the primary key.
_DELETE_OTHERS = "DELETE FROM pairings WHERE public_key = ? AND code_hash != ?"


class SqlitePairings:
    """`PairingRepository` on the `pairings` table."""

    domain = "pairings"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, pairing: Pairing) -> Pairing:
        """Replace the key's other pairings with this one; `Conflict` if the hash is taken."""
        params = PAIRINGS.sqlite.encode(pairing)

        def replace(connection: sqlite3.Connection) -> Pairing:
            with transaction(connection):
                connection.execute(_DELETE_OTHERS, (pairing.public_key, pairing.code_hash))
                with duplicates_conflict("a pairing with this code hash"):
                    row = insert_row(connection, PAIRINGS, params)
            return PAIRINGS.sqlite.decode(row)

        return await self._database.run(replace)

    @observed
    async def peek(self, code_hash: str, now: datetime) -> Pairing | None:
        """The valid pairing with this code hash, without using it up, or `None`."""
        params = (code_hash, to_millis(now))

        def select(connection: sqlite3.Connection) -> Pairing | None:
            row = connection.execute(_PEEK, params).fetchone()
            return None if row is None else PAIRINGS.sqlite.decode(row)

        return await self._database.run(select)

    @observed
    async def consume(self, code_hash: str, now: datetime) -> Pairing | None:
        """Atomically use the pairing up: it if valid at `now`, else `None` (and deleted)."""
        now_millis = to_millis(now)

        def delete(connection: sqlite3.Connection) -> Pairing | None:
            rows = connection.execute(_CONSUME, (code_hash,)).fetchall()
            if not rows or rows[0]["expires_at"] <= now_millis:
                return None
            return PAIRINGS.sqlite.decode(rows[0])

        return await self._database.run(delete)

    @observed
    async def for_key(self, public_key: bytes, now: datetime) -> Pairing | None:
        """The newest valid pairing of this key, or `None`."""
        params = (public_key, to_millis(now))

        def select(connection: sqlite3.Connection) -> Pairing | None:
            row = connection.execute(_FOR_KEY, params).fetchone()
            return None if row is None else PAIRINGS.sqlite.decode(row)

        return await self._database.run(select)

    @observed
    async def delete_expired(self, now: datetime) -> int:
        """Delete every pairing with `expires_at <= now`; return how many."""
        statement = "DELETE FROM pairings WHERE expires_at <= ?"
        return await self._database.rows_changed(statement, (to_millis(now),))

    @observed
    async def delete_for_key(self, public_key: bytes) -> int:
        """Delete every pairing of this key; return how many."""
        statement = "DELETE FROM pairings WHERE public_key = ?"
        return await self._database.rows_changed(statement, (public_key,))
