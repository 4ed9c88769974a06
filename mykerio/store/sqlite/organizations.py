"""SQLite repository of organizations and their memberships."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mykerio.errors import NotFound
from mykerio.models import Membership, Organization
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import MEMBERSHIPS, ORGANIZATIONS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict, transaction
from mykerio.store.sqlite.tables import insert_row

_MEMBERS = "SELECT * FROM memberships WHERE org_id = ? ORDER BY joined_at, user_id"

_OF_USER = """
SELECT organizations.* FROM organizations
JOIN memberships ON memberships.org_id = organizations.id
WHERE memberships.user_id = ?
ORDER BY organizations.name, organizations.id
"""


class SqliteOrganizations:
    """`OrganizationRepository` on `organizations` and `memberships`, which cascades."""

    domain = "organizations"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, organization: Organization) -> Organization:
        """Store a new organization and return it as stored; `Conflict` if the id is taken."""
        params = ORGANIZATIONS.sqlite.encode(organization)

        def insert(connection: sqlite3.Connection) -> Organization:
            with duplicates_conflict(f"an organization with id {organization.id}"):
                row = insert_row(connection, ORGANIZATIONS, params)
            return ORGANIZATIONS.sqlite.decode(row)

        return await self._database.run(insert)

    @observed
    async def by_id(self, org_id: str) -> Organization | None:
        """The organization with this id, or `None`."""

        def select(connection: sqlite3.Connection) -> Organization | None:
            query = "SELECT * FROM organizations WHERE id = ?"
            row = connection.execute(query, (org_id,)).fetchone()
            return None if row is None else ORGANIZATIONS.sqlite.decode(row)

        return await self._database.run(select)

    @observed
    async def rename(self, org_id: str, name: str) -> Organization:
        """Give the organization a new name and return it; `NotFound` if unknown."""

        def update(connection: sqlite3.Connection) -> Organization:
            statement = "UPDATE organizations SET name = ? WHERE id = ? RETURNING *"
            rows = connection.execute(statement, (name, org_id)).fetchall()
            if not rows:
                raise NotFound(f"organization {org_id}")
            return ORGANIZATIONS.sqlite.decode(rows[0])

        return await self._database.run(update)

    @observed
    async def delete(self, org_id: str) -> None:
        """Delete the organization and (by cascade) its memberships; `NotFound` if unknown."""

        def delete(connection: sqlite3.Connection) -> None:
            statement = "DELETE FROM organizations WHERE id = ?"
            if not connection.execute(statement, (org_id,)).rowcount:
                raise NotFound(f"organization {org_id}")

        await self._database.run(delete)

    @observed
    async def add_member(self, org_id: str, user_id: str, at: datetime) -> Membership:
        """Make the user a member since `at`; `NotFound` or `Conflict` as the protocol says."""
        params = MEMBERSHIPS.sqlite.encode(Membership(org_id=org_id, user_id=user_id, joined_at=at))

        def insert(connection: sqlite3.Connection) -> Membership:
            with transaction(connection):
                query = "SELECT 1 FROM organizations WHERE id = ?"
                if connection.execute(query, (org_id,)).fetchone() is None:
                    raise NotFound(f"organization {org_id}")
                with duplicates_conflict(f"membership of user {user_id} in {org_id}"):
                    row = insert_row(connection, MEMBERSHIPS, params)
            return MEMBERSHIPS.sqlite.decode(row)

        return await self._database.run(insert)

    @observed
    async def remove_member(self, org_id: str, user_id: str) -> bool:
        """End the membership; `True` if there was one."""

        def delete(connection: sqlite3.Connection) -> bool:
            statement = "DELETE FROM memberships WHERE org_id = ? AND user_id = ?"
            return connection.execute(statement, (org_id, user_id)).rowcount > 0

        return await self._database.run(delete)

    @observed
    async def members(self, org_id: str) -> list[Membership]:
        """The organization's memberships, longest-standing first (ties by user id)."""

        def select(connection: sqlite3.Connection) -> list[Membership]:
            rows = connection.execute(_MEMBERS, (org_id,)).fetchall()
            return [MEMBERSHIPS.sqlite.decode(row) for row in rows]

        return await self._database.run(select)

    @observed
    async def of_user(self, user_id: str) -> list[Organization]:
        """The organizations the user belongs to, by name (code point order), ties by id."""

        def select(connection: sqlite3.Connection) -> list[Organization]:
            rows = connection.execute(_OF_USER, (user_id,)).fetchall()
            return [ORGANIZATIONS.sqlite.decode(row) for row in rows]

        return await self._database.run(select)

    @observed
    async def is_member(self, org_id: str, user_id: str) -> bool:
        """Whether the user belongs to the organization."""

        def select(connection: sqlite3.Connection) -> bool:
            query = "SELECT 1 FROM memberships WHERE org_id = ? AND user_id = ?"
            return connection.execute(query, (org_id, user_id)).fetchone() is not None

        return await self._database.run(select)

    @observed
    async def count_members(self, org_id: str) -> int:
        """How many members the organization has (0 for an unknown one)."""

        def select(connection: sqlite3.Connection) -> int:
            query = "SELECT COUNT(*) FROM memberships WHERE org_id = ?"
            [count] = connection.execute(query, (org_id,)).fetchone()
            return int(count)

        return await self._database.run(select)
