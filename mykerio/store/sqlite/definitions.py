"""SQLite repository of the organizations' shared definitions (`definition_versions`)."""

from __future__ import annotations

import sqlite3

from mykerio.models import DefinitionVersion
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import DEFINITION_VERSIONS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict, transaction
from mykerio.store.sqlite.tables import insert_statement
from mykerio.store.values import require_positive

_NEWEST = """
SELECT * FROM definition_versions WHERE org_id = ? AND kind = ? ORDER BY version DESC LIMIT ?
"""
_TRIM = "DELETE FROM definition_versions WHERE org_id = ? AND kind = ? AND version <= ?"


class SqliteDefinitions:
    """`DefinitionRepository` on the `definition_versions` table."""

    domain = "definitions"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, version: DefinitionVersion, keep: int) -> None:
        """Store a new version, then keep the `keep` newest; `Conflict` if it exists."""
        require_positive("keep", keep)
        params = DEFINITION_VERSIONS.sqlite.encode(version)

        def insert(connection: sqlite3.Connection) -> None:
            with transaction(connection):
                with duplicates_conflict(f"version {version.version} of {version.kind}"):
                    connection.execute(insert_statement(DEFINITION_VERSIONS), params)
                connection.execute(_TRIM, (version.org_id, version.kind, version.version - keep))

        await self._database.run(insert)

    @observed
    async def current(self, org_id: str, kind: str) -> DefinitionVersion | None:
        """The newest version of that kind, or None."""
        found = await self._newest(org_id, kind, 1)
        return found[0] if found else None

    @observed
    async def version(self, org_id: str, kind: str, version: int) -> DefinitionVersion | None:
        """One version, or None."""

        def select(connection: sqlite3.Connection) -> DefinitionVersion | None:
            query = (
                "SELECT * FROM definition_versions WHERE org_id = ? AND kind = ? AND version = ?"
            )
            row = connection.execute(query, (org_id, kind, version)).fetchone()
            return None if row is None else DEFINITION_VERSIONS.sqlite.decode(row)

        return await self._database.run(select)

    @observed
    async def history(self, org_id: str, kind: str, limit: int) -> list[DefinitionVersion]:
        """At most `limit` versions, newest first."""
        require_positive("limit", limit)
        return await self._newest(org_id, kind, limit)

    @observed
    async def delete_organization(self, org_id: str) -> int:
        """Delete every version of the organization."""

        def delete(connection: sqlite3.Connection) -> int:
            statement = "DELETE FROM definition_versions WHERE org_id = ?"
            return connection.execute(statement, (org_id,)).rowcount

        return await self._database.run(delete)

    async def _newest(self, org_id: str, kind: str, limit: int) -> list[DefinitionVersion]:
        def select(connection: sqlite3.Connection) -> list[DefinitionVersion]:
            rows = connection.execute(_NEWEST, (org_id, kind, limit)).fetchall()
            return [DEFINITION_VERSIONS.sqlite.decode(row) for row in rows]

        return await self._database.run(select)
