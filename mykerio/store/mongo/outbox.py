"""MongoDB repository of the email outbox.

Bodies arrive sealed (`mykerio.mail.sealing`); marking a message sent or failed deletes its
body, keeping the metadata document (recipient, subject, times, attempts, last error).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from mykerio.errors import NotFound
from mykerio.models import OutboxMessage
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import OUTBOX
from mykerio.store.mongo.indexes import NEWEST_FIRST, OLDEST_FIRST, Document, duplicates_conflict
from mykerio.store.observed import observed
from mykerio.store.values import require_positive, to_utc_millis


class MongoOutbox:
    """`OutboxRepository` on the `outbox` collection."""

    domain = "outbox"

    def __init__(
        self, collection: AsyncCollection[Document], on_operation: OperationObserver | None
    ) -> None:
        self._collection = collection
        self.on_operation = on_operation

    @observed
    async def add(self, message: OutboxMessage) -> OutboxMessage:
        """Store a new message and return it as stored; `Conflict` if the id is taken."""
        document = OUTBOX.mongo.encode(message)
        with duplicates_conflict(f"an outbox message with id {message.id}"):
            await self._collection.insert_one(document)
        return OUTBOX.mongo.decode(document)

    @observed
    async def by_id(self, message_id: str) -> OutboxMessage | None:
        """The message with this id, or `None`."""
        document = await self._collection.find_one({"_id": message_id})
        return None if document is None else OUTBOX.mongo.decode(document)

    @observed
    async def due(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """At most `limit` pending messages due at `now`: the hub's own first, then relayed
        mail, each oldest first (a burst of appliances' alerts never holds up a password reset)."""
        require_positive("limit", limit)
        due = {"status": "pending", "next_attempt_at": {"$lte": to_utc_millis(now)}}
        messages: list[OutboxMessage] = []
        # (Documents from before the relay have no `origin`: null matches them.)
        for origin in ({"$in": ["", None]}, {"$nin": ["", None]}):
            wanted = limit - len(messages)
            if wanted <= 0:
                break
            found = self._collection.find({**due, "origin": origin}).sort(OLDEST_FIRST)
            messages += [OUTBOX.mongo.decode(document) async for document in found.limit(wanted)]
        return messages

    @observed
    async def pending(self) -> list[OutboxMessage]:
        """Every pending message, due or not, oldest first."""
        found = self._collection.find({"status": "pending"}).sort(OLDEST_FIRST)
        return [OUTBOX.mongo.decode(document) async for document in found]

    @observed
    async def replace_body(self, message_id: str, text: str) -> None:
        """Store `text` as the message's body and empty its `html`."""
        await self._update(message_id, {"$set": {"text": text, "html": ""}})

    @observed
    async def mark_sent(self, message_id: str, at: datetime) -> None:
        """Mark the message sent at `at` (one more attempt) and delete its body.

        Only the mailer writes a message, one write at a time, so the `$inc` needs no more
        atomicity than FerretDB gives it.
        """
        changes = {"status": "sent", "sent_at": to_utc_millis(at), "text": "", "html": ""}
        await self._update(message_id, {"$set": changes, "$inc": {"attempts": 1}})

    @observed
    async def mark_retry(
        self, message_id: str, *, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        """Keep the message pending, due again at `next_attempt_at`."""
        changes = {
            "status": "pending",
            "attempts": attempts,
            "next_attempt_at": to_utc_millis(next_attempt_at),
            "last_error": error,
        }
        await self._update(message_id, {"$set": changes})

    @observed
    async def mark_failed(self, message_id: str, *, attempts: int, error: str) -> None:
        """Give the message up after `attempts` attempts, the last failing with `error`, and
        delete its body."""
        changes = {
            "status": "failed",
            "attempts": attempts,
            "last_error": error,
            "text": "",
            "html": "",
        }
        await self._update(message_id, {"$set": changes})

    @observed
    async def recent(self, limit: int) -> list[OutboxMessage]:
        """At most `limit` messages of any status, newest first."""
        found = self._collection.find().sort(NEWEST_FIRST).limit(require_positive("limit", limit))
        return [OUTBOX.mongo.decode(document) async for document in found]

    @observed
    async def pending_count(self) -> int:
        """How many messages are pending."""
        return await self._collection.count_documents({"status": "pending"})

    @observed
    async def next_attempt_at(self) -> datetime | None:
        """When the earliest pending message is due, or `None` if none is pending."""
        document = await self._collection.find_one(
            {"status": "pending"}, {"next_attempt_at": 1}, sort=[("next_attempt_at", ASCENDING)]
        )
        return None if document is None else document["next_attempt_at"].astimezone(UTC)

    async def _update(self, message_id: str, update: Document) -> None:
        result = await self._collection.update_one({"_id": message_id}, update)
        if not result.matched_count:
            raise NotFound(f"outbox message {message_id}")
