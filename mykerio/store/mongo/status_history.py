"""MongoDB repository of the appliances' status history, paged newest first by `(at, _id)`."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection

from mykerio.models import StatusChange
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import STATUS_CHANGES
from mykerio.store.mongo.indexes import EVENTS_NEWEST_FIRST, Document, duplicates_conflict
from mykerio.store.observed import observed
from mykerio.store.values import require_positive, to_utc_millis


class MongoStatusHistory:
    """`StatusHistoryRepository` on the `status_changes` collection."""

    domain = "status_history"

    def __init__(
        self, collection: AsyncCollection[Document], on_operation: OperationObserver | None
    ) -> None:
        self._collection = collection
        self.on_operation = on_operation

    @observed
    async def add(self, change: StatusChange) -> StatusChange:
        """Store a status change and return it as stored; `Conflict` if the id is taken."""
        document = STATUS_CHANGES.mongo.encode(change)
        with duplicates_conflict(f"a status change with id {change.id}"):
            await self._collection.insert_one(document)
        return STATUS_CHANGES.mongo.decode(document)

    @observed
    async def for_appliance(
        self, appliance_id: str, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[StatusChange]:
        """At most `limit` changes of the appliance, newest first, older than `before`."""
        require_positive("limit", limit)
        query: Document = {"appliance_id": appliance_id}
        if before is not None:
            at, change_id = to_utc_millis(before[0]), before[1]
            query["$or"] = [{"at": {"$lt": at}}, {"at": at, "_id": {"$lt": change_id}}]
        found = self._collection.find(query).sort(EVENTS_NEWEST_FIRST).limit(limit)
        return [STATUS_CHANGES.mongo.decode(document) async for document in found]

    @observed
    async def delete_for_appliance(self, appliance_id: str) -> int:
        """Delete the appliance's status history; return how many changes went."""
        deleted = await self._collection.delete_many({"appliance_id": appliance_id})
        return deleted.deleted_count
