"""MongoDB repository of the organizations' activity logs, paged newest first by `(at, _id)`."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection

from mykerio.models import ActivityEvent
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import ACTIVITY_EVENTS
from mykerio.store.mongo.indexes import EVENTS_NEWEST_FIRST, Document, duplicates_conflict
from mykerio.store.mongo.pages import PageFilter
from mykerio.store.observed import observed
from mykerio.store.values import require_positive


class MongoActivity:
    """`ActivityRepository` on the `activity_events` collection."""

    domain = "activity"

    def __init__(
        self, collection: AsyncCollection[Document], on_operation: OperationObserver | None
    ) -> None:
        self._collection = collection
        self.on_operation = on_operation

    @observed
    async def add(self, event: ActivityEvent) -> ActivityEvent:
        """Store a new event and return it as stored; `Conflict` if the id is taken."""
        document = ACTIVITY_EVENTS.mongo.encode(event)
        with duplicates_conflict(f"an activity event with id {event.id}"):
            await self._collection.insert_one(document)
        return ACTIVITY_EVENTS.mongo.decode(document)

    @observed
    async def query(
        self,
        *,
        org_id: str,
        action: str | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int,
        before: tuple[datetime, str] | None = None,
    ) -> list[ActivityEvent]:
        """At most `limit` matching events of the organization, newest first, before `before`."""
        require_positive("limit", limit)
        query = (
            PageFilter()
            .equal("org_id", org_id)
            .equal("action", action)
            .equal("actor_id", actor_id)
            .window(since, until)
            .filter(before)
        )
        found = self._collection.find(query).sort(EVENTS_NEWEST_FIRST).limit(limit)
        return [ACTIVITY_EVENTS.mongo.decode(document) async for document in found]

    @observed
    async def delete_for_org(self, org_id: str) -> int:
        """Delete the organization's events; return how many."""
        deleted = await self._collection.delete_many({"org_id": org_id})
        return deleted.deleted_count
