"""MongoDB repository of the access audit, paged newest first by `(at, _id)`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection

from mykerio.models import AccessEvent
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import ACCESS_EVENTS
from mykerio.store.mongo.indexes import EVENTS_NEWEST_FIRST, Document, duplicates_conflict
from mykerio.store.mongo.pages import PageFilter
from mykerio.store.observed import observed
from mykerio.store.values import require_positive, to_utc_millis


class MongoAudit:
    """`AuditRepository` on the `access_events` collection."""

    domain = "audit"

    def __init__(
        self, collection: AsyncCollection[Document], on_operation: OperationObserver | None
    ) -> None:
        self._collection = collection
        self.on_operation = on_operation

    @observed
    async def add(self, event: AccessEvent) -> AccessEvent:
        """Store a new event and return it as stored; `Conflict` if the id is taken."""
        document = ACCESS_EVENTS.mongo.encode(event)
        with duplicates_conflict(f"an access event with id {event.id}"):
            await self._collection.insert_one(document)
        return ACCESS_EVENTS.mongo.decode(document)

    @observed
    async def query(
        self,
        *,
        user_ids: Sequence[str],
        ip: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        action: str | None = None,
        limit: int,
        before: tuple[datetime, str] | None = None,
    ) -> list[AccessEvent]:
        """At most `limit` matching events of these users, newest first, before `before`."""
        require_positive("limit", limit)
        if not user_ids:
            return []
        query = (
            PageFilter()
            .one_of("user_id", user_ids)
            .equal("ip", ip)
            .window(since, until)
            .equal("action", action)
            .filter(before)
        )
        found = self._collection.find(query).sort(EVENTS_NEWEST_FIRST).limit(limit)
        return [ACCESS_EVENTS.mongo.decode(document) async for document in found]

    @observed
    async def delete_older_than(self, at: datetime) -> int:
        """Delete the events before `at`; return how many."""
        deleted = await self._collection.delete_many({"at": {"$lt": to_utc_millis(at)}})
        return deleted.deleted_count
