"""MongoDB repository of login sessions."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection

from mykerio.models import Session
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import SESSIONS
from mykerio.store.mongo.indexes import OLDEST_FIRST, Document, duplicates_conflict
from mykerio.store.observed import observed
from mykerio.store.values import to_utc_millis


class MongoSessions:
    """`SessionRepository` on the `sessions` collection; `_id` is the session id's hash."""

    domain = "sessions"

    def __init__(
        self, collection: AsyncCollection[Document], on_operation: OperationObserver | None
    ) -> None:
        self._collection = collection
        self.on_operation = on_operation

    @observed
    async def add(self, session: Session) -> Session:
        """Store a new session and return it as stored; `Conflict` if the hash is taken."""
        document = SESSIONS.mongo.encode(session)
        with duplicates_conflict("a session with this id"):
            await self._collection.insert_one(document)
        return SESSIONS.mongo.decode(document)

    @observed
    async def get(self, id_hash: str) -> Session | None:
        """The session with this id hash, or `None`."""
        document = await self._collection.find_one({"_id": id_hash})
        return None if document is None else SESSIONS.mongo.decode(document)

    @observed
    async def touch(self, id_hash: str, at: datetime) -> None:
        """Record activity at `at`; `last_seen` never moves back. A missing session is ignored."""
        await self._collection.update_one(
            {"_id": id_hash}, {"$max": {"last_seen": to_utc_millis(at)}}
        )

    @observed
    async def revoke(self, id_hash: str) -> bool:
        """Delete the session; `True` if it existed."""
        return (await self._collection.delete_one({"_id": id_hash})).deleted_count > 0

    @observed
    async def revoke_user(self, user_id: str, *, keep: str | None = None) -> int:
        """Delete every session of the user except `keep`; return how many were deleted."""
        query: Document = {"user_id": user_id}
        if keep is not None:
            query["_id"] = {"$ne": keep}
        return (await self._collection.delete_many(query)).deleted_count

    @observed
    async def for_user(self, user_id: str) -> list[Session]:
        """The user's sessions, oldest first (ties by id hash)."""
        found = self._collection.find({"user_id": user_id}).sort(OLDEST_FIRST)
        return [SESSIONS.mongo.decode(document) async for document in found]

    @observed
    async def delete_idle(self, before: datetime, *, persistent: bool) -> int:
        """Delete the sessions of that kind last seen before `before`; return how many."""
        query = {"persistent": persistent, "last_seen": {"$lt": to_utc_millis(before)}}
        return (await self._collection.delete_many(query)).deleted_count
