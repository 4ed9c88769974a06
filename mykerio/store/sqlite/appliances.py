"""SQLite repository of appliances and the revoked keys of removed ones.

`public_key` is UNIQUE (many NULLs allowed: boxes reserved by serial), `serial` has a partial
unique index for non-empty serials, and `revoked_keys` holds the keys of removed appliances.
Checks and writes that must agree run in one transaction.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mykerio.errors import Conflict, NotFound
from mykerio.models import Appliance, name_key
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import APPLIANCES
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict, transaction
from mykerio.store.sqlite.tables import insert_row

_ATTACH_KEY = """
UPDATE appliances
SET public_key = :public_key, product = :product, version = :version, ip = :ip,
    last_seen = :last_seen
WHERE id = :id
RETURNING *
"""

_SET_STATE = """
UPDATE appliances
SET status = :status, status_reasons = :status_reasons,
    pending_notifications = :pending_notifications, connected = :connected, ip = :ip,
    last_seen = CASE WHEN :connected THEN :last_seen ELSE last_seen END
WHERE id = :id
RETURNING *
"""

_REVOKE_ORG_KEYS = """
INSERT OR IGNORE INTO revoked_keys (public_key)
SELECT public_key FROM appliances WHERE org_id = ? AND public_key IS NOT NULL
"""


def _refuse_revoked(connection: sqlite3.Connection, public_key: bytes) -> None:
    query = "SELECT 1 FROM revoked_keys WHERE public_key = ?"
    if connection.execute(query, (public_key,)).fetchone() is not None:
        raise Conflict("this public key was revoked; it needs a new pairing")


def _one(connection: sqlite3.Connection, query: str, value: object) -> Appliance | None:
    row = connection.execute(query, (value,)).fetchone()
    return None if row is None else APPLIANCES.sqlite.decode(row)


class SqliteAppliances:
    """`ApplianceRepository` on the `appliances` and `revoked_keys` tables."""

    domain = "appliances"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, appliance: Appliance) -> Appliance:
        """Store a new appliance; `Conflict` if id, key or serial is taken or the key revoked."""
        params = APPLIANCES.sqlite.encode(appliance)
        what = f"an appliance with id {appliance.id}, this public key or this serial"

        def insert(connection: sqlite3.Connection) -> Appliance:
            with transaction(connection):
                if appliance.public_key is not None:
                    _refuse_revoked(connection, appliance.public_key)
                with duplicates_conflict(what):
                    row = insert_row(connection, APPLIANCES, params)
            return APPLIANCES.sqlite.decode(row)

        return await self._database.run(insert)

    @observed
    async def by_id(self, appliance_id: str) -> Appliance | None:
        """The appliance with this id, or `None`."""
        query = "SELECT * FROM appliances WHERE id = ?"
        return await self._database.run(lambda connection: _one(connection, query, appliance_id))

    @observed
    async def by_public_key(self, public_key: bytes) -> Appliance | None:
        """The appliance with this public key, or `None`."""
        query = "SELECT * FROM appliances WHERE public_key = ?"
        return await self._database.run(lambda connection: _one(connection, query, public_key))

    @observed
    async def by_serial(self, serial: str) -> Appliance | None:
        """The appliance with this (non-empty) serial, or `None`."""
        if not serial:
            return None
        query = "SELECT * FROM appliances WHERE serial = ?"
        return await self._database.run(lambda connection: _one(connection, query, serial))

    @observed
    async def in_org(self, org_id: str) -> list[Appliance]:
        """The organization's appliances by name (case-insensitive), ties by id."""

        def select(connection: sqlite3.Connection) -> list[Appliance]:
            rows = connection.execute("SELECT * FROM appliances WHERE org_id = ?", (org_id,))
            return [APPLIANCES.sqlite.decode(row) for row in rows.fetchall()]

        # Sorted here with `name_key`, so both adapters agree on every name, not only ASCII ones.
        found = await self._database.run(select)
        return sorted(found, key=lambda appliance: (name_key(appliance.name), appliance.id))

    @observed
    async def count_in_org(self, org_id: str) -> int:
        """How many appliances the organization has (0 for an unknown one)."""

        def count(connection: sqlite3.Connection) -> int:
            query = "SELECT COUNT(*) FROM appliances WHERE org_id = ?"
            return int(connection.execute(query, (org_id,)).fetchone()[0])

        return await self._database.run(count)

    @observed
    async def attach_key(
        self,
        appliance_id: str,
        public_key: bytes,
        *,
        product: str,
        version: str,
        ip: str,
        at: datetime,
    ) -> Appliance:
        """Give a box reserved by serial its key; `Conflict` if it has another one, or the key
        is revoked or another appliance's.
        """
        params = APPLIANCES.sqlite.encode_fields(
            id=appliance_id,
            public_key=public_key,
            product=product,
            version=version,
            ip=ip,
            last_seen=at,
        )

        def update(connection: sqlite3.Connection) -> Appliance:
            with transaction(connection):
                query = "SELECT public_key FROM appliances WHERE id = ?"
                row = connection.execute(query, (appliance_id,)).fetchone()
                if row is None:
                    raise NotFound(f"appliance {appliance_id}")
                if row["public_key"] is not None and bytes(row["public_key"]) != public_key:
                    raise Conflict(f"appliance {appliance_id} already has another public key")
                _refuse_revoked(connection, public_key)
                with duplicates_conflict("an appliance with this public key"):
                    [updated] = connection.execute(_ATTACH_KEY, params).fetchall()
            return APPLIANCES.sqlite.decode(updated)

        return await self._database.run(update)

    @observed
    async def rename(self, appliance_id: str, name: str) -> Appliance:
        """Give the appliance a new name and return it; `NotFound` if unknown."""
        statement = "UPDATE appliances SET name = ? WHERE id = ? RETURNING *"
        return await self._update(appliance_id, statement, (name, appliance_id))

    @observed
    async def set_state(
        self,
        appliance_id: str,
        *,
        status: str,
        reasons: tuple[str, ...],
        pending: int,
        connected: bool,
        ip: str,
        at: datetime,
    ) -> Appliance:
        """Record the live state learned at `at` (`last_seen` when connected); `NotFound` if
        unknown.
        """
        params = APPLIANCES.sqlite.encode_fields(
            id=appliance_id,
            status=status,
            status_reasons=reasons,
            pending_notifications=pending,
            connected=connected,
            ip=ip,
            last_seen=at,
        )
        return await self._update(appliance_id, _SET_STATE, params)

    @observed
    async def remove(self, appliance_id: str) -> Appliance | None:
        """Delete the appliance and revoke its key; return it, or `None` if not stored."""

        def delete(connection: sqlite3.Connection) -> Appliance | None:
            with transaction(connection):
                statement = "DELETE FROM appliances WHERE id = ? RETURNING *"
                rows = connection.execute(statement, (appliance_id,)).fetchall()
                if not rows:
                    return None
                removed = APPLIANCES.sqlite.decode(rows[0])
                if removed.public_key is not None:
                    connection.execute(
                        "INSERT OR IGNORE INTO revoked_keys (public_key) VALUES (?)",
                        (removed.public_key,),
                    )
            return removed

        return await self._database.run(delete)

    @observed
    async def remove_for_org(self, org_id: str) -> int:
        """Remove the organization's appliances, revoking their keys; return how many."""

        def delete(connection: sqlite3.Connection) -> int:
            with transaction(connection):
                connection.execute(_REVOKE_ORG_KEYS, (org_id,))
                statement = "DELETE FROM appliances WHERE org_id = ?"
                return connection.execute(statement, (org_id,)).rowcount

        return await self._database.run(delete)

    @observed
    async def is_revoked(self, public_key: bytes) -> bool:
        """Whether the key belonged to a removed appliance and was not unrevoked since."""
        query = "SELECT 1 FROM revoked_keys WHERE public_key = ?"

        def select(connection: sqlite3.Connection) -> bool:
            return connection.execute(query, (public_key,)).fetchone() is not None

        return await self._database.run(select)

    @observed
    async def unrevoke(self, public_key: bytes) -> bool:
        """Allow the key again; `True` if it was revoked."""
        statement = "DELETE FROM revoked_keys WHERE public_key = ?"
        return await self._database.rows_changed(statement, (public_key,)) > 0

    async def _update(
        self, appliance_id: str, statement: str, params: tuple[object, ...] | dict[str, object]
    ) -> Appliance:
        """Run one `UPDATE ... RETURNING *` of the appliance; `NotFound` if it changed none."""

        def update(connection: sqlite3.Connection) -> Appliance:
            rows = connection.execute(statement, params).fetchall()
            if not rows:
                raise NotFound(f"appliance {appliance_id}")
            return APPLIANCES.sqlite.decode(rows[0])

        return await self._database.run(update)
