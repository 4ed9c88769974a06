"""SQLite repository of logins waiting for their second factor."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mykerio.errors import NotFound
from mykerio.models import LoginAttempt
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import LOGIN_ATTEMPTS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict
from mykerio.store.sqlite.tables import insert_row
from mykerio.store.values import to_millis

# One statement, so atomic by itself.
_ADD_GUESS = "UPDATE login_attempts SET guesses = guesses + 1 WHERE id_hash = ? RETURNING guesses"

_SET_SMS_CODE = """
UPDATE login_attempts SET sms_code_hash = :code_hash, sms_expires_at = :expires_at
WHERE id_hash = :id_hash
"""


class SqliteLoginAttempts:
    """`LoginAttemptRepository` on the `login_attempts` table."""

    domain = "login_attempts"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, attempt: LoginAttempt) -> LoginAttempt:
        """Store a new attempt and return it as stored; `Conflict` if the hash is taken."""
        params = LOGIN_ATTEMPTS.sqlite.encode(attempt)

        def insert(connection: sqlite3.Connection) -> LoginAttempt:
            with duplicates_conflict("a login attempt with this id"):
                row = insert_row(connection, LOGIN_ATTEMPTS, params)
            return LOGIN_ATTEMPTS.sqlite.decode(row)

        return await self._database.run(insert)

    @observed
    async def get(self, id_hash: str) -> LoginAttempt | None:
        """The attempt with this id hash, or `None`."""

        def select(connection: sqlite3.Connection) -> LoginAttempt | None:
            query = "SELECT * FROM login_attempts WHERE id_hash = ?"
            row = connection.execute(query, (id_hash,)).fetchone()
            return None if row is None else LOGIN_ATTEMPTS.sqlite.decode(row)

        return await self._database.run(select)

    @observed
    async def add_guess(self, id_hash: str) -> int:
        """Atomically count one more guess and return the new count; `NotFound` if gone."""

        def increment(connection: sqlite3.Connection) -> int:
            rows = connection.execute(_ADD_GUESS, (id_hash,)).fetchall()
            if not rows:
                raise NotFound("login attempt")
            return int(rows[0]["guesses"])

        return await self._database.run(increment)

    @observed
    async def set_sms_code(self, id_hash: str, code_hash: str, expires_at: datetime) -> None:
        """Bind an SMS code valid until `expires_at` to the attempt; `NotFound` if gone."""
        params = {"id_hash": id_hash, "code_hash": code_hash, "expires_at": to_millis(expires_at)}
        if not await self._database.rows_changed(_SET_SMS_CODE, params):
            raise NotFound("login attempt")

    @observed
    async def delete(self, id_hash: str) -> bool:
        """Delete the attempt; `True` if it existed."""
        statement = "DELETE FROM login_attempts WHERE id_hash = ?"
        return await self._database.rows_changed(statement, (id_hash,)) > 0

    @observed
    async def delete_older_than(self, at: datetime) -> int:
        """Delete the attempts created before `at`; return how many."""
        statement = "DELETE FROM login_attempts WHERE created_at < ?"
        return await self._database.rows_changed(statement, (to_millis(at),))
