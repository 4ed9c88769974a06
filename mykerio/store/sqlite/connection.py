"""The SQLite connection and the one worker thread that every SQLite call runs on.

Python's `sqlite3` blocks, so no call may run on the event loop. All of them go through
`SqliteDatabase.run`, which hands the work to a single-thread executor: the connection is only
ever touched by that thread, and SQLite's single writer becomes a visible queue instead of
lock contention.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from mykerio.errors import Conflict, Unavailable

T = TypeVar("T")

BUSY_TIMEOUT_SECONDS = 5.0
"""How long a statement waits for another process's write lock before failing."""


def _connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database file; runs on the worker thread."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit transactions; multi-statement work uses `transaction`.
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
        # Deleted rows (delivered mail bodies, ended sessions) are overwritten with zeros rather
        # than left readable in free pages of the file.
        connection.execute("PRAGMA secure_delete = ON")
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    except BaseException:
        connection.close()
        raise
    return connection


@contextmanager
def duplicates_conflict(what: str) -> Iterator[None]:
    """Turn a violated UNIQUE or PRIMARY KEY constraint inside the block into `Conflict`."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        if error.sqlite_errorname in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
            raise Conflict(f"{what} already exists") from error
        raise


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block in one write transaction: committed if it finishes, rolled back if not."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        # Some errors (a full disk, for one) have rolled the transaction back already.
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


class SqliteDatabase:
    """An open SQLite database file, used only from its own worker thread."""

    def __init__(self, executor: ThreadPoolExecutor, connection: sqlite3.Connection) -> None:
        self._executor = executor
        self._connection = connection
        self._closed = False

    @classmethod
    async def open(cls, path: Path) -> SqliteDatabase:
        """Open the file at `path`, creating it and its directory if needed."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mykerio-sqlite")
        try:
            connection = await asyncio.get_running_loop().run_in_executor(executor, _connect, path)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, connection)

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work(connection)` on the worker thread and return its result.

        If the awaiting task is cancelled, `work` still runs to its end on the thread, so a
        transaction is either committed or rolled back, never left open.
        """
        if self._closed:
            raise Unavailable("the SQLite store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, work, self._connection)

    async def rows_changed(
        self, statement: str, params: Sequence[object] | Mapping[str, object]
    ) -> int:
        """Run one UPDATE or DELETE statement on the worker thread; return how many rows it
        changed.
        """

        def execute(connection: sqlite3.Connection) -> int:
            return connection.execute(statement, params).rowcount

        return await self.run(execute)

    async def close(self) -> None:
        """Close the connection on its thread, then let the thread end."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._connection.close)
        finally:
            # The queue is empty now, so the worker exits at once; no need to block the loop.
            self._executor.shutdown(wait=False)
