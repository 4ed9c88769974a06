"""SQLite repository of hub users."""

from __future__ import annotations

import sqlite3

from mykerio.models import User, email_key
from mykerio.store.base import OperationObserver
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict
from mykerio.store.sqlite.rows import insert_statement, user_from_row, user_params


class SqliteUsers:
    """`UserRepository` on the `users` table; `email_lower` is unique."""

    domain = "users"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, user: User) -> User:
        """Store a new user and return it as stored; `Conflict` if the id or email is taken."""
        params = user_params(user)

        def insert(connection: sqlite3.Connection) -> User:
            with duplicates_conflict(f"a user with id {user.id} or email {user.email}"):
                statement = insert_statement("users", params) + " RETURNING *"
                [row] = connection.execute(statement, params).fetchall()
            return user_from_row(row)

        return await self._database.run(insert)

    @observed
    async def by_email(self, email: str) -> User | None:
        """The user with this email, compared case-insensitively, or `None`."""
        return await self._one("SELECT * FROM users WHERE email_lower = ?", email_key(email))

    @observed
    async def by_id(self, user_id: str) -> User | None:
        """The user with this id, or `None`."""
        return await self._one("SELECT * FROM users WHERE id = ?", user_id)

    async def _one(self, query: str, value: str) -> User | None:
        def select(connection: sqlite3.Connection) -> User | None:
            row = connection.execute(query, (value,)).fetchone()
            return None if row is None else user_from_row(row)

        return await self._database.run(select)
