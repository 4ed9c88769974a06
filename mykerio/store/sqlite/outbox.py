"""SQLite repository of the email outbox.

Bodies arrive sealed (`mykerio.mail.sealing`); marking a message sent or failed deletes its
body, keeping the metadata row (recipient, subject, times, attempts, last error).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mykerio.errors import NotFound
from mykerio.models import OutboxMessage
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import OUTBOX
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict
from mykerio.store.sqlite.tables import insert_row
from mykerio.store.values import from_millis, require_positive, to_millis

# The hub's own mail (no `origin`) before relayed mail: a burst of appliances' alerts never
# holds up a password reset.
_DUE = """
SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?
ORDER BY origin != '', created_at, id LIMIT ?
"""

_PENDING = "SELECT * FROM outbox WHERE status = 'pending' ORDER BY created_at, id"

_REPLACE_BODY = "UPDATE outbox SET text = :text, html = '' WHERE id = :id"

_RECENT = "SELECT * FROM outbox ORDER BY created_at DESC, id DESC LIMIT ?"

_MARK_SENT = """
UPDATE outbox SET status = 'sent', sent_at = :at, attempts = attempts + 1, text = '', html = ''
WHERE id = :id
"""

_MARK_RETRY = """
UPDATE outbox SET status = 'pending', attempts = :attempts, next_attempt_at = :next_attempt_at,
    last_error = :error
WHERE id = :id
"""

_MARK_FAILED = """
UPDATE outbox SET status = 'failed', attempts = :attempts, last_error = :error, text = '',
    html = ''
WHERE id = :id
"""


class SqliteOutbox:
    """`OutboxRepository` on the `outbox` table."""

    domain = "outbox"

    def __init__(self, database: SqliteDatabase, on_operation: OperationObserver | None) -> None:
        self._database = database
        self.on_operation = on_operation

    @observed
    async def add(self, message: OutboxMessage) -> OutboxMessage:
        """Store a new message and return it as stored; `Conflict` if the id is taken."""
        params = OUTBOX.sqlite.encode(message)

        def insert(connection: sqlite3.Connection) -> OutboxMessage:
            with duplicates_conflict(f"an outbox message with id {message.id}"):
                row = insert_row(connection, OUTBOX, params)
            return OUTBOX.sqlite.decode(row)

        return await self._database.run(insert)

    @observed
    async def by_id(self, message_id: str) -> OutboxMessage | None:
        """The message with this id, or `None`."""

        def select(connection: sqlite3.Connection) -> OutboxMessage | None:
            row = connection.execute("SELECT * FROM outbox WHERE id = ?", (message_id,)).fetchone()
            return None if row is None else OUTBOX.sqlite.decode(row)

        return await self._database.run(select)

    @observed
    async def due(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """At most `limit` pending messages due at `now`: the hub's own first, then relayed
        mail, each oldest first."""
        params = (to_millis(now), require_positive("limit", limit))
        return await self._select(_DUE, params)

    @observed
    async def pending(self) -> list[OutboxMessage]:
        """Every pending message, due or not, oldest first."""
        return await self._select(_PENDING, ())

    @observed
    async def replace_body(self, message_id: str, text: str) -> None:
        """Store `text` as the message's body and empty its `html`."""
        await self._update(_REPLACE_BODY, {"id": message_id, "text": text})

    @observed
    async def mark_sent(self, message_id: str, at: datetime) -> None:
        """Mark the message sent at `at` (one more attempt) and delete its body."""
        await self._update(_MARK_SENT, {"id": message_id, "at": to_millis(at)})

    @observed
    async def mark_retry(
        self, message_id: str, *, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        """Keep the message pending, due again at `next_attempt_at`."""
        params = {
            "id": message_id,
            "attempts": attempts,
            "next_attempt_at": to_millis(next_attempt_at),
            "error": error,
        }
        await self._update(_MARK_RETRY, params)

    @observed
    async def mark_failed(self, message_id: str, *, attempts: int, error: str) -> None:
        """Give the message up after `attempts` attempts, the last failing with `error`, and
        delete its body."""
        await self._update(_MARK_FAILED, {"id": message_id, "attempts": attempts, "error": error})

    @observed
    async def recent(self, limit: int) -> list[OutboxMessage]:
        """At most `limit` messages of any status, newest first."""
        return await self._select(_RECENT, (require_positive("limit", limit),))

    @observed
    async def pending_count(self) -> int:
        """How many messages are pending."""

        def select(connection: sqlite3.Connection) -> int:
            query = "SELECT COUNT(*) FROM outbox WHERE status = 'pending'"
            [count] = connection.execute(query).fetchone()
            return int(count)

        return await self._database.run(select)

    @observed
    async def next_attempt_at(self) -> datetime | None:
        """When the earliest pending message is due, or `None` if none is pending."""

        def select(connection: sqlite3.Connection) -> datetime | None:
            query = "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'"
            [earliest] = connection.execute(query).fetchone()
            return None if earliest is None else from_millis(earliest)

        return await self._database.run(select)

    async def _select(self, query: str, params: tuple[int, ...]) -> list[OutboxMessage]:
        def select(connection: sqlite3.Connection) -> list[OutboxMessage]:
            return [OUTBOX.sqlite.decode(row) for row in connection.execute(query, params)]

        return await self._database.run(select)

    async def _update(self, statement: str, params: dict[str, object]) -> None:
        if not await self._database.rows_changed(statement, params):
            raise NotFound(f"outbox message {params['id']}")
