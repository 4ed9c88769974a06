"""SQLite repository of appliance backups, keeping a bounded number per appliance."""

from __future__ import annotations

import sqlite3

from mykerio.errors import NotFound
from mykerio.models import Backup
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import BACKUPS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict, transaction
from mykerio.store.sqlite.tables import insert_statement
from mykerio.store.values import require_positive

_NEWEST = """
SELECT * FROM backups WHERE appliance_id = ? ORDER BY created_at DESC, id DESC LIMIT ?
"""

# LIMIT -1 means "no limit": every backup after the first `keep`.
_BEYOND_NEWEST = """
SELECT id FROM backups WHERE appliance_id = ?
ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET ?
"""


class SqliteBackups:
    """`BackupRepository` on the `backups` table."""

    domain = "backups"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add_keep_newest(self, backup: Backup, keep: int) -> list[str]:
        """Store `backup`, then delete all but the `keep` newest; return the removed ids."""
        require_positive("keep", keep)
        params = BACKUPS.sqlite.encode(backup)

        def insert_and_trim(connection: sqlite3.Connection) -> list[str]:
            with transaction(connection):
                with duplicates_conflict(f"a backup with id {backup.id}"):
                    connection.execute(insert_statement(BACKUPS), params)
                beyond = connection.execute(_BEYOND_NEWEST, (backup.appliance_id, keep))
                removed = [str(row["id"]) for row in beyond.fetchall()]
                connection.executemany("DELETE FROM backups WHERE id = ?", [(i,) for i in removed])
            return removed

        return await self._database.run(insert_and_trim)

    @observed
    async def newest(self, appliance_id: str, limit: int) -> list[Backup]:
        """At most `limit` backups of the appliance, newest first."""
        require_positive("limit", limit)

        def select(connection: sqlite3.Connection) -> list[Backup]:
            rows = connection.execute(_NEWEST, (appliance_id, limit)).fetchall()
            return [BACKUPS.sqlite.decode(row) for row in rows]

        return await self._database.run(select)

    @observed
    async def content(self, backup_id: str) -> bytes:
        """The bytes of one backup; `NotFound` if it does not exist (any more)."""

        def select(connection: sqlite3.Connection) -> bytes:
            query = "SELECT content FROM backups WHERE id = ?"
            row = connection.execute(query, (backup_id,)).fetchone()
            if row is None:
                raise NotFound(f"backup {backup_id}")
            return bytes(row["content"])

        return await self._database.run(select)
