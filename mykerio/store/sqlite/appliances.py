"""SQLite repository of appliances, including the atomic upsert behind an appliance's hello."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mykerio.errors import NotFound
from mykerio.models import Appliance, new_id
from mykerio.store.base import OperationObserver
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict
from mykerio.store.sqlite.rows import appliance_from_row, appliance_params, insert_statement
from mykerio.store.values import to_millis

# One statement, so atomic by itself: insert the unknown key, or update the known one.
_RECORD_HELLO = """
INSERT INTO appliances
    (id, org_id, product, version, name, public_key, ip, status, created_at, last_seen)
VALUES
    (:id, '', :product, :version, :product, :public_key, :ip, 'green', :seen_at, :seen_at)
ON CONFLICT (public_key) DO UPDATE SET
    product = excluded.product,
    version = excluded.version,
    ip = excluded.ip,
    status = excluded.status,
    last_seen = excluded.last_seen
RETURNING *
"""

_SET_STATUS = "UPDATE appliances SET status = :status, last_seen = :at WHERE id = :id RETURNING *"


class SqliteAppliances:
    """`ApplianceRepository` on the `appliances` table; `public_key` is unique."""

    domain = "appliances"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, appliance: Appliance) -> Appliance:
        """Store a new appliance and return it as stored; `Conflict` if id or key is taken."""
        params = appliance_params(appliance)

        def insert(connection: sqlite3.Connection) -> Appliance:
            with duplicates_conflict(f"an appliance with id {appliance.id} or this public key"):
                statement = insert_statement("appliances", params) + " RETURNING *"
                [row] = connection.execute(statement, params).fetchall()
            return appliance_from_row(row)

        return await self._database.run(insert)

    @observed
    async def by_id(self, appliance_id: str) -> Appliance | None:
        """The appliance with this id, or `None`."""

        def select(connection: sqlite3.Connection) -> Appliance | None:
            query = "SELECT * FROM appliances WHERE id = ?"
            row = connection.execute(query, (appliance_id,)).fetchone()
            return None if row is None else appliance_from_row(row)

        return await self._database.run(select)

    @observed
    async def record_hello(
        self, public_key: bytes, *, product: str, version: str, ip: str, seen_at: datetime
    ) -> Appliance:
        """Atomically insert or update the appliance with this key and return it after the write."""
        params = {
            "id": new_id(),
            "product": product,
            "version": version,
            "public_key": public_key,
            "ip": ip,
            "seen_at": to_millis(seen_at),
        }

        def upsert(connection: sqlite3.Connection) -> Appliance:
            [row] = connection.execute(_RECORD_HELLO, params).fetchall()
            return appliance_from_row(row)

        return await self._database.run(upsert)

    @observed
    async def set_status(self, appliance_id: str, status: str, at: datetime) -> Appliance:
        """Set the status, learned at `at` (which becomes `last_seen`); `NotFound` if unknown."""
        params = {"id": appliance_id, "status": status, "at": to_millis(at)}

        def update(connection: sqlite3.Connection) -> Appliance:
            rows = connection.execute(_SET_STATUS, params).fetchall()
            if not rows:
                raise NotFound(f"appliance {appliance_id}")
            return appliance_from_row(rows[0])

        return await self._database.run(update)
