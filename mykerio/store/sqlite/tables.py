"""Rows of a `Table` (`mykerio.store.codecs`) in SQLite: the INSERT of its codec's columns.

The codec gives the named parameters (`table.sqlite.encode`) and reads a row selected by
column name (`SELECT *`, `RETURNING *`) back into the model (`table.sqlite.decode`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from mykerio.store.codec import Table


def insert_statement(table: Table[Any]) -> str:
    """`INSERT INTO name (...) VALUES (:...)` for the columns of the table's codec."""
    columns = table.sqlite.columns
    placeholders = ", ".join(f":{column}" for column in columns)
    # Table and column names come from the codecs, never from input; values stay parameters.
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608


def insert_row(
    connection: sqlite3.Connection, table: Table[Any], params: Mapping[str, Any]
) -> sqlite3.Row:
    """Insert one row of `table` with these (encoded) `params`; the row as stored."""
    row: sqlite3.Row
    [row] = connection.execute(insert_statement(table) + " RETURNING *", params).fetchall()
    return row
