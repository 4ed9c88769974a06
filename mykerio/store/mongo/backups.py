"""MongoDB repository of appliance backups: records in `backups`, blobs as chunk documents.

FerretDB has no GridFS, so a blob is its records as documents of `backup_chunks`
(`{_id: "<blob>:<n>", blob_id, n, data}`, n = 0, 1, ...), each well under the 16 MiB document
limit. They are written while the upload runs; the backup's record in `backups` is inserted only
after the last of them, and every read starts from a record, so no one sees a blob that is not
complete. Without transactions the steps are ordered so that a crash between them leaves only
chunks that no record names, which `clean_leftovers` removes at start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pymongo.asynchronous.collection import AsyncCollection

from mykerio.errors import NotFound
from mykerio.models import Backup
from mykerio.security.encryption import TamperedData
from mykerio.store.base import BlobWriter, OperationObserver
from mykerio.store.codecs import BACKUPS
from mykerio.store.mongo.indexes import BACKUPS_NEWEST_FIRST, Document, duplicates_conflict
from mykerio.store.observed import observed
from mykerio.store.values import require_positive


class _ChunkBlob:
    """A blob being written as chunk documents."""

    def __init__(self, chunks: AsyncCollection[Document], blob_id: str) -> None:
        self._chunks = chunks
        self.blob_id = blob_id
        self._next = 0
        self.done = False

    async def append(self, record: bytes) -> None:
        if self.done:
            raise RuntimeError("the blob was published or discarded")
        n = self._next
        with duplicates_conflict(f"a backup with id {self.blob_id}"):
            await self._chunks.insert_one(
                {"_id": f"{self.blob_id}:{n:08d}", "blob_id": self.blob_id, "n": n, "data": record}
            )
        self._next += 1

    async def discard(self) -> None:
        if self.done:
            return
        self.done = True
        # Only the chunks this writer inserted: another blob's under the same id stay.
        await self._chunks.delete_many({"blob_id": self.blob_id, "n": {"$lt": self._next}})


class MongoBackups:
    """`BackupRepository` on the `backups` and `backup_chunks` collections."""

    domain = "backups"

    def __init__(
        self,
        collection: AsyncCollection[Document],
        chunks: AsyncCollection[Document],
        on_operation: OperationObserver | None,
    ) -> None:
        self._collection = collection
        self._chunks = chunks
        self.on_operation = on_operation

    @observed
    async def begin(self, backup_id: str) -> BlobWriter:
        """A new blob of chunk documents, named by no record yet."""
        return _ChunkBlob(self._chunks, backup_id)

    @observed
    async def publish(self, backup: Backup, blob: BlobWriter, keep: int) -> list[str]:
        """List the backup (its chunks are all written), then trim to the `keep` newest.

        No transaction (FerretDB has none), yet concurrent calls converge on exactly the `keep`
        newest. Each call trims after its own insert, so its query sees that insert and every
        insert finished before it; the trim that queries last therefore sees all of them and
        removes everything beyond the newest `keep`. An earlier trim saw a subset, and a backup
        beyond the newest `keep` of a subset is beyond them in the whole too, so no trim ever
        removes one of the final `keep`. Until the last trim ends a reader could see extra
        backups, which is why `newest` applies its limit as well.
        """
        if not isinstance(blob, _ChunkBlob) or blob.blob_id != backup.id or blob.done:
            raise ValueError("the blob was not begun for this backup in this store")
        try:
            require_positive("keep", keep)
            with duplicates_conflict(f"a backup with id {backup.id}"):
                await self._collection.insert_one(BACKUPS.mongo.encode(backup))
        except BaseException:
            await blob.discard()
            raise
        blob.done = True
        beyond = (
            self._collection.find({"appliance_id": backup.appliance_id}, {"_id": 1})
            .sort(BACKUPS_NEWEST_FIRST)
            .skip(keep)
        )
        removed = [str(document["_id"]) async for document in beyond]
        if removed:
            # The records first: a crash between the two leaves chunks no record names.
            await self._collection.delete_many({"_id": {"$in": removed}})
            await self._chunks.delete_many({"blob_id": {"$in": removed}})
        return removed

    @observed
    async def newest(self, appliance_id: str, limit: int) -> list[Backup]:
        """At most `limit` backups of the appliance, newest first."""
        require_positive("limit", limit)
        found = (
            self._collection.find({"appliance_id": appliance_id})
            .sort(BACKUPS_NEWEST_FIRST)
            .limit(limit)
        )
        return [BACKUPS.mongo.decode(document) async for document in found]

    @observed
    async def of_organization(self, org_id: str) -> list[Backup]:
        """Every backup of the organization, newest first."""
        found = self._collection.find({"org_id": org_id}).sort(BACKUPS_NEWEST_FIRST)
        return [BACKUPS.mongo.decode(document) async for document in found]

    @observed
    async def get(self, backup_id: str) -> Backup:
        """One backup; `NotFound` if there is none."""
        document = await self._collection.find_one({"_id": backup_id})
        if document is None:
            raise NotFound(f"backup {backup_id}")
        return BACKUPS.mongo.decode(document)

    async def records(self, backup_id: str) -> AsyncIterator[bytes]:
        """The chunks in order, fetched in small batches as they are consumed."""
        await self.get(backup_id)
        # A batch of 4 chunks (about 1 MiB) at a time: the cursor never holds the whole blob.
        found = self._chunks.find({"blob_id": backup_id}).sort("n", 1).batch_size(4)
        expected = 0
        async for document in found:
            if document["n"] != expected:
                raise TamperedData(f"backup {backup_id} misses chunk {expected}")
            expected += 1
            yield bytes(document["data"])

    @observed
    async def delete(self, backup_id: str) -> Backup:
        """Delete the record, then its chunks."""
        backup = await self.get(backup_id)
        deleted = await self._collection.delete_one({"_id": backup_id})
        if not deleted.deleted_count:
            raise NotFound(f"backup {backup_id}")
        await self._chunks.delete_many({"blob_id": backup_id})
        return backup

    @observed
    async def clean_leftovers(self) -> int:
        """Chunks of blobs that no record names (uploads cut by a crash, unfinished trims)."""
        blob_ids = await self._chunks.distinct("blob_id")
        if not blob_ids:
            return 0
        listed = {
            str(document["_id"])
            async for document in self._collection.find({"_id": {"$in": blob_ids}}, {"_id": 1})
        }
        orphans = [blob_id for blob_id in blob_ids if blob_id not in listed]
        if orphans:
            await self._chunks.delete_many({"blob_id": {"$in": orphans}})
        return len(orphans)
