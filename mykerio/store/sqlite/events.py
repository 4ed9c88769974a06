"""Append-only records (`mykerio.store.events`) in a SQLite table, paged newest first by
`(at, id)`.

Pages neither repeat nor skip rows, also among rows with equal times, because the order and the
keyset cursor use the same two columns. Conditions name model fields; the table's codec gives
their columns and stored values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Generic, TypeVar

from mykerio.store.codec import Table
from mykerio.store.events import Where
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict, transaction
from mykerio.store.sqlite.tables import insert_row, insert_statement
from mykerio.store.values import require_positive

M = TypeVar("M")


class SqliteEvents(Generic[M]):
    """`EventTable` on the SQLite table of `table`."""

    def __init__(self, database: SqliteDatabase, table: Table[M]) -> None:
        self._database = database
        self._table = table
        self._codec = table.sqlite

    async def add(self, record: M, what: str) -> M:
        """Store a new record and return it as stored; `Conflict` if its id is taken."""
        params = self._codec.encode(record)

        def insert(connection: sqlite3.Connection) -> M:
            with duplicates_conflict(what):
                row = insert_row(connection, self._table, params)
            return self._codec.decode(row)

        return await self._database.run(insert)

    async def add_many(self, records: Sequence[M], what: str) -> None:
        """Store new records in one transaction; `Conflict` if an id is taken."""
        if not records:
            return
        rows = [self._codec.encode(record) for record in records]
        statement = insert_statement(self._table)

        def insert(connection: sqlite3.Connection) -> None:
            with duplicates_conflict(what), transaction(connection):
                connection.executemany(statement, rows)

        await self._database.run(insert)

    async def page(
        self, where: Where, *, limit: int, before: tuple[datetime, str] | None
    ) -> list[M]:
        """At most `limit` matching records older than `before`, newest first."""
        require_positive("limit", limit)
        conditions, params = self._conditions(where)
        if before is not None:
            # Row values compare left to right: earlier time, or the same time and a lower id.
            conditions.append("(at, id) < (?, ?)")
            params.extend(self._codec.encode_fields(at=before[0], id=before[1]).values())
        # Only the codec's column names and placeholders are joined in; values stay parameters.
        query = (
            f"SELECT * FROM {self._table.name} WHERE {' AND '.join(conditions) or '1'} "  # noqa: S608
            "ORDER BY at DESC, id DESC LIMIT ?"
        )

        def select(connection: sqlite3.Connection) -> list[M]:
            rows = connection.execute(query, [*params, limit]).fetchall()
            return [self._codec.decode(row) for row in rows]

        return await self._database.run(select)

    async def delete(self, where: Where) -> int:
        """Delete the matching records; return how many."""
        conditions, params = self._conditions(where)
        statement = f"DELETE FROM {self._table.name} WHERE {' AND '.join(conditions) or '1'}"  # noqa: S608
        return await self._database.rows_changed(statement, params)

    def _conditions(self, where: Where) -> tuple[list[str], list[object]]:
        """The SQL conditions (joined by AND) and their parameters for `where`."""
        conditions: list[str] = []
        params: list[object] = []
        equal = {name: value for name, value in where.equal.items() if value is not None}
        for column, value in self._codec.encode_fields(**equal).items():
            conditions.append(f"{column} = ?")
            params.append(value)
        for name, values in where.one_of.items():
            stored = [self._codec.encode_fields(**{name: value}) for value in values]
            conditions.append(f"{self._codec.column(name)} IN ({', '.join('?' * len(stored))})")
            params.extend(value for one in stored for value in one.values())
        for bound, operator in ((where.since, ">="), (where.until, "<")):
            if bound is not None:
                conditions.append(f"at {operator} ?")
                params.extend(self._codec.encode_fields(at=bound).values())
        return conditions, params
