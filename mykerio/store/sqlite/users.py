"""SQLite repository of hub users, their second factors and their settings."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mykerio.errors import NotFound
from mykerio.models import User, email_key
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import USERS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict, transaction
from mykerio.store.sqlite.tables import insert_row
from mykerio.store.values import require_distinct

_BACKUP_CODES = "SELECT code_hash FROM backup_codes WHERE user_id = ? ORDER BY position"

# One conditional statement, so atomic by itself: only a newer step than the last one matches.
_CLAIM_TOTP_STEP = """
UPDATE users SET totp_last_step = :step
WHERE id = :id AND (totp_last_step IS NULL OR totp_last_step < :step)
"""


def _user(connection: sqlite3.Connection, row: sqlite3.Row) -> User:
    """The user in `row`, with its backup codes read on the same connection."""
    codes = connection.execute(_BACKUP_CODES, (row["id"],)).fetchall()
    return USERS.sqlite.decode(row, backup_codes=tuple(code["code_hash"] for code in codes))


def _require_user(connection: sqlite3.Connection, user_id: str) -> None:
    if connection.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone() is None:
        raise NotFound(f"user {user_id}")


def _insert_backup_codes(
    connection: sqlite3.Connection, user_id: str, hashes: tuple[str, ...]
) -> None:
    connection.executemany(
        "INSERT INTO backup_codes (user_id, code_hash, position) VALUES (?, ?, ?)",
        [(user_id, code_hash, position) for position, code_hash in enumerate(hashes)],
    )


class SqliteUsers:
    """`UserRepository` on the `users` table (`email_lower` is unique) and `backup_codes`."""

    domain = "users"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, user: User) -> User:
        """Store a new user and return it as stored; `Conflict` if the id or email is taken."""
        require_distinct("backup code hashes", user.backup_codes)
        params = USERS.sqlite.encode(user)

        def insert(connection: sqlite3.Connection) -> User:
            with transaction(connection):
                with duplicates_conflict(f"a user with id {user.id} or email {user.email}"):
                    row = insert_row(connection, USERS, params)
                _insert_backup_codes(connection, user.id, user.backup_codes)
                return _user(connection, row)

        return await self._database.run(insert)

    @observed
    async def by_email(self, email: str) -> User | None:
        """The user with this email, compared case-insensitively, or `None`."""
        return await self._one("SELECT * FROM users WHERE email_lower = ?", email_key(email))

    @observed
    async def by_id(self, user_id: str) -> User | None:
        """The user with this id, or `None`."""
        return await self._one("SELECT * FROM users WHERE id = ?", user_id)

    @observed
    async def set_password_hash(self, user_id: str, password_hash: str, at: datetime) -> None:
        """Replace the password hash; `at` becomes `password_changed_at`."""
        await self._update(
            "UPDATE users SET password_hash = :password_hash,"
            " password_changed_at = :password_changed_at WHERE id = :id",
            USERS.sqlite.encode_fields(
                id=user_id, password_hash=password_hash, password_changed_at=at
            ),
        )

    @observed
    async def confirm(self, user_id: str, at: datetime) -> User:
        """Mark the email confirmed at `at` unless it already is; return the user after that."""
        statement = (
            "UPDATE users SET confirmed_at = COALESCE(confirmed_at, :confirmed_at) WHERE id = :id"
            " RETURNING *"
        )
        params = USERS.sqlite.encode_fields(id=user_id, confirmed_at=at)

        def update(connection: sqlite3.Connection) -> User:
            rows = connection.execute(statement, params).fetchall()
            if not rows:
                raise NotFound(f"user {user_id}")
            return _user(connection, rows[0])

        return await self._database.run(update)

    @observed
    async def set_totp(self, user_id: str, sealed_secret: bytes | None) -> None:
        """Set (or with `None` remove) the sealed TOTP secret and forget `totp_last_step`."""
        await self._update(
            "UPDATE users SET totp_secret = :secret, totp_last_step = NULL WHERE id = :id",
            {"id": user_id, "secret": sealed_secret},
        )

    @observed
    async def claim_totp_step(self, user_id: str, step: int) -> bool:
        """Atomically accept TOTP time step `step` once; `False` if it or a newer one was."""

        def claim(connection: sqlite3.Connection) -> bool:
            if connection.execute(_CLAIM_TOTP_STEP, {"id": user_id, "step": step}).rowcount:
                return True
            _require_user(connection, user_id)
            return False

        return await self._database.run(claim)

    @observed
    async def set_backup_codes(self, user_id: str, hashes: tuple[str, ...]) -> None:
        """Replace the backup code hashes; the old codes stop working."""
        require_distinct("backup code hashes", hashes)

        def replace(connection: sqlite3.Connection) -> None:
            with transaction(connection):
                _require_user(connection, user_id)
                connection.execute("DELETE FROM backup_codes WHERE user_id = ?", (user_id,))
                _insert_backup_codes(connection, user_id, hashes)

        await self._database.run(replace)

    @observed
    async def use_backup_code(self, user_id: str, code_hash: str) -> bool:
        """Atomically use up one backup code: `True` if it was unused (and now is used)."""
        statement = "DELETE FROM backup_codes WHERE user_id = ? AND code_hash = ?"

        def use(connection: sqlite3.Connection) -> bool:
            if connection.execute(statement, (user_id, code_hash)).rowcount:
                return True
            _require_user(connection, user_id)
            return False

        return await self._database.run(use)

    @observed
    async def set_phone(self, user_id: str, sealed_phone: bytes | None) -> None:
        """Set (or with `None` remove) the sealed backup phone number."""
        await self._update(
            "UPDATE users SET phone = :phone WHERE id = :id", {"id": user_id, "phone": sealed_phone}
        )

    @observed
    async def set_notifications(self, user_id: str, enabled: bool) -> None:
        """Opt in to (or out of) email notifications."""
        await self._update(
            "UPDATE users SET notifications = :notifications WHERE id = :id",
            USERS.sqlite.encode_fields(id=user_id, notifications=enabled),
        )

    @observed
    async def set_default_org(self, user_id: str, org_id: str) -> None:
        """Remember the organization the switcher chose (`""` forgets it)."""
        await self._update(
            "UPDATE users SET default_org_id = :org_id WHERE id = :id",
            {"id": user_id, "org_id": org_id},
        )

    async def _one(self, query: str, value: str) -> User | None:
        def select(connection: sqlite3.Connection) -> User | None:
            row = connection.execute(query, (value,)).fetchone()
            return None if row is None else _user(connection, row)

        return await self._database.run(select)

    async def _update(self, statement: str, params: dict[str, object]) -> None:
        """Run an update of the user `params["id"]`; `NotFound` if it changed no row."""
        if not await self._database.rows_changed(statement, params):
            raise NotFound(f"user {params['id']}")
