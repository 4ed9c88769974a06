"""SQLite repository of invitations to organizations and the token hashes of their links."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mykerio.errors import NotFound
from mykerio.models import Invitation, email_key
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import INVITATIONS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict, transaction
from mykerio.store.sqlite.tables import insert_row
from mykerio.store.values import to_millis

_INSERT_LINK = "INSERT INTO invitation_tokens (token_hash, invitation_id) VALUES (?, ?)"

_DELETE_EXPIRED_OF_PAIR = """
DELETE FROM invitations WHERE org_id = :org_id AND email_lower = :email_lower
AND expires_at <= :created_at
"""

_INVITATION_OF_LINK = """
SELECT invitations.* FROM invitation_tokens
JOIN invitations ON invitations.id = invitation_tokens.invitation_id
WHERE invitation_tokens.token_hash = ? AND invitations.expires_at > ?
"""

_RENEW = "UPDATE invitations SET expires_at = ? WHERE id = ? RETURNING *"

_PENDING = """
SELECT * FROM invitations WHERE org_id = ? AND expires_at > ? ORDER BY created_at, id
"""

_PENDING_FOR_EMAIL = """
SELECT * FROM invitations WHERE email_lower = ? AND expires_at > ? ORDER BY created_at, id
"""


class SqliteInvitations:
    """`InvitationRepository` on `invitations`, unique per `(org_id, email_lower)`, and
    `invitation_tokens`, which cascade with their invitation.
    """

    domain = "invitations"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, invitation: Invitation, token_hash: str) -> Invitation:
        """Replace an expired invitation of the same pair, store this one with its first
        token hash, and return it; `Conflict` for a pending pair, a taken id or a taken hash.
        """
        params = INVITATIONS.sqlite.encode(invitation)

        def insert(connection: sqlite3.Connection) -> Invitation:
            with transaction(connection):
                connection.execute(_DELETE_EXPIRED_OF_PAIR, params)
                with duplicates_conflict(
                    f"an invitation with id {invitation.id}, of {invitation.email} to "
                    f"{invitation.org_id}, or with this token hash"
                ):
                    row = insert_row(connection, INVITATIONS, params)
                    connection.execute(_INSERT_LINK, (token_hash, invitation.id))
            return INVITATIONS.sqlite.decode(row)

        return await self._database.run(insert)

    @observed
    async def by_id(self, invitation_id: str) -> Invitation | None:
        """The stored invitation with this id, pending or expired, or `None`."""

        def select(connection: sqlite3.Connection) -> Invitation | None:
            query = "SELECT * FROM invitations WHERE id = ?"
            row = connection.execute(query, (invitation_id,)).fetchone()
            return None if row is None else INVITATIONS.sqlite.decode(row)

        return await self._database.run(select)

    @observed
    async def by_token(self, token_hash: str, now: datetime) -> Invitation | None:
        """The pending invitation one of whose links carries this token hash, or `None`."""
        params = (token_hash, to_millis(now))

        def select(connection: sqlite3.Connection) -> Invitation | None:
            row = connection.execute(_INVITATION_OF_LINK, params).fetchone()
            return None if row is None else INVITATIONS.sqlite.decode(row)

        return await self._database.run(select)

    @observed
    async def renew(self, invitation_id: str, token_hash: str, expires_at: datetime) -> Invitation:
        """Add a link's token hash and move the expiry; `NotFound` if gone, `Conflict` if the
        hash is taken.
        """
        expires_millis = to_millis(expires_at)

        def update(connection: sqlite3.Connection) -> Invitation:
            with transaction(connection):
                rows = connection.execute(_RENEW, (expires_millis, invitation_id)).fetchall()
                if not rows:
                    raise NotFound(f"invitation {invitation_id}")
                with duplicates_conflict("an invitation token with this hash"):
                    connection.execute(_INSERT_LINK, (token_hash, invitation_id))
            return INVITATIONS.sqlite.decode(rows[0])

        return await self._database.run(update)

    @observed
    async def pending(self, org_id: str, now: datetime) -> list[Invitation]:
        """The organization's pending invitations, oldest first (ties by id)."""
        return await self._select(_PENDING, (org_id, to_millis(now)))

    @observed
    async def pending_for_email(self, email: str, now: datetime) -> list[Invitation]:
        """The pending invitations of this address (case-insensitive), oldest first."""
        return await self._select(_PENDING_FOR_EMAIL, (email_key(email), to_millis(now)))

    @observed
    async def delete(self, invitation_id: str) -> bool:
        """Delete the invitation and (by cascade) its token hashes; `True` if this call did."""
        statement = "DELETE FROM invitations WHERE id = ?"
        return await self._database.rows_changed(statement, (invitation_id,)) > 0

    @observed
    async def delete_expired(self, now: datetime) -> int:
        """Delete the invitations with `expires_at <= now` and their token hashes; how many."""
        statement = "DELETE FROM invitations WHERE expires_at <= ?"
        return await self._database.rows_changed(statement, (to_millis(now),))

    @observed
    async def delete_for_org(self, org_id: str) -> int:
        """Delete the organization's invitations with their token hashes; how many."""
        statement = "DELETE FROM invitations WHERE org_id = ?"
        return await self._database.rows_changed(statement, (org_id,))

    async def _select(self, query: str, params: tuple[object, ...]) -> list[Invitation]:
        def select(connection: sqlite3.Connection) -> list[Invitation]:
            return [INVITATIONS.sqlite.decode(row) for row in connection.execute(query, params)]

        return await self._database.run(select)
