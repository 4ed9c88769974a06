"""MongoDB repository of rate-limit events, counted per key within a sliding window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from mykerio.store.base import OperationObserver
from mykerio.store.mongo.indexes import Document
from mykerio.store.observed import observed
from mykerio.store.values import to_utc_millis


class MongoThrottle:
    """`ThrottleRepository` on the `throttle_events` collection, one document per event."""

    domain = "throttle"

    def __init__(
        self, collection: AsyncCollection[Document], on_operation: OperationObserver | None
    ) -> None:
        self._collection = collection
        self.on_operation = on_operation

    @observed
    async def record(self, key: str, at: datetime, window: timedelta) -> int:
        """Store one event, drop the key's events outside the window, count those inside."""
        end = to_utc_millis(at)
        start = to_utc_millis(at - window)
        await self._collection.insert_one({"key": key, "at": end})
        await self._collection.delete_many({"key": key, "at": {"$lte": start}})
        return await self._collection.count_documents(
            {"key": key, "at": {"$gt": start, "$lte": end}}
        )

    @observed
    async def count(self, key: str, since: datetime) -> int:
        """How many events `key` has after `since` (exclusive)."""
        return await self._collection.count_documents(
            {"key": key, "at": {"$gt": to_utc_millis(since)}}
        )

    @observed
    async def oldest_since(self, key: str, since: datetime) -> datetime | None:
        """The time of the key's oldest event after `since` (exclusive), or `None`."""
        document = await self._collection.find_one(
            {"key": key, "at": {"$gt": to_utc_millis(since)}}, sort=[("at", ASCENDING)]
        )
        return None if document is None else document["at"].astimezone(UTC)

    @observed
    async def clear(self, key: str) -> None:
        """Forget every event of `key`."""
        await self._collection.delete_many({"key": key})
