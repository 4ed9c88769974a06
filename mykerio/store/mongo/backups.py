"""MongoDB repository of appliance backups, keeping a bounded number per appliance."""

from __future__ import annotations

from pymongo.asynchronous.collection import AsyncCollection

from mykerio.errors import NotFound
from mykerio.models import Backup
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import BACKUPS
from mykerio.store.mongo.indexes import NEWEST_FIRST, Document, duplicates_conflict
from mykerio.store.observed import observed
from mykerio.store.values import require_positive


class MongoBackups:
    """`BackupRepository` on the `backups` collection."""

    domain = "backups"

    def __init__(
        self, collection: AsyncCollection[Document], on_operation: OperationObserver | None
    ) -> None:
        self._collection = collection
        self.on_operation = on_operation

    @observed
    async def add_keep_newest(self, backup: Backup, keep: int) -> list[str]:
        """Store `backup`, then delete all but the `keep` newest; return the removed ids.

        No transaction (FerretDB has none), yet concurrent calls converge on exactly the `keep`
        newest. Each call trims after its own insert, so its query sees that insert and every
        insert finished before it; the trim that queries last therefore sees all of them and
        removes everything beyond the newest `keep`. An earlier trim saw a subset, and a backup
        beyond the newest `keep` of a subset is beyond them in the whole too, so no trim ever
        removes one of the final `keep`. Until the last trim ends a reader could see extra
        backups, which is why `newest` applies its limit as well.
        """
        require_positive("keep", keep)
        with duplicates_conflict(f"a backup with id {backup.id}"):
            await self._collection.insert_one(BACKUPS.mongo.encode(backup))
        beyond = (
            self._collection.find({"appliance_id": backup.appliance_id}, {"_id": 1})
            .sort(NEWEST_FIRST)
            .skip(keep)
        )
        removed = [str(document["_id"]) async for document in beyond]
        if removed:
            await self._collection.delete_many({"_id": {"$in": removed}})
        return removed

    @observed
    async def newest(self, appliance_id: str, limit: int) -> list[Backup]:
        """At most `limit` backups of the appliance, newest first."""
        require_positive("limit", limit)
        found = (
            self._collection.find({"appliance_id": appliance_id}).sort(NEWEST_FIRST).limit(limit)
        )
        return [BACKUPS.mongo.decode(document) async for document in found]

    @observed
    async def content(self, backup_id: str) -> bytes:
        """The bytes of one backup; `NotFound` if it does not exist (any more)."""
        document = await self._collection.find_one({"_id": backup_id}, {"content": 1})
        if document is None:
            raise NotFound(f"backup {backup_id}")
        return bytes(document["content"])
