"""MongoDB repository of pairing codes, one per appliance key at a time."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection

from mykerio.models import Pairing
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import PAIRINGS
from mykerio.store.mongo.indexes import NEWEST_FIRST, Document, duplicates_conflict
from mykerio.store.observed import observed
from mykerio.store.values import to_utc_millis


class MongoPairings:
    """`PairingRepository` on the `pairings` collection; `_id` is the code's hash."""

    domain = "pairings"

    def __init__(
        self, collection: AsyncCollection[Document], on_operation: OperationObserver | None
    ) -> None:
        self._collection = collection
        self.on_operation = on_operation

    @observed
    async def add(self, pairing: Pairing) -> Pairing:
        """Delete the key's other pairings, then store this one; `Conflict` if the hash is
        taken (the others are gone by then: no transaction undoes that).
        """
        document = PAIRINGS.mongo.encode(pairing)
        # Spares this code hash, so adding a taken hash still meets the unique `_id`.
        await self._collection.delete_many(
            {"public_key": pairing.public_key, "_id": {"$ne": pairing.code_hash}}
        )
        with duplicates_conflict("a pairing with this code hash"):
            await self._collection.insert_one(document)
        return PAIRINGS.mongo.decode(document)

    @observed
    async def peek(self, code_hash: str, now: datetime) -> Pairing | None:
        """The valid pairing with this code hash, without using it up, or `None`."""
        document = await self._collection.find_one(
            {"_id": code_hash, "expires_at": {"$gt": to_utc_millis(now)}}
        )
        return None if document is None else PAIRINGS.mongo.decode(document)

    @observed
    async def consume(self, code_hash: str, now: datetime) -> Pairing | None:
        """Atomically use the pairing up: it if valid at `now`, else `None` (and deleted).

        Read, then delete: a pairing never changes, so what was read is what gets deleted, and
        of concurrent deletes exactly one reports a deleted document. (`find_one_and_delete`
        would not do: FerretDB 1.24 returns the document to every concurrent caller.)
        """
        now = to_utc_millis(now)
        document = await self._collection.find_one({"_id": code_hash})
        if document is None:
            return None
        if not (await self._collection.delete_one({"_id": code_hash})).deleted_count:
            return None
        pairing = PAIRINGS.mongo.decode(document)
        return pairing if pairing.expires_at > now else None

    @observed
    async def for_key(self, public_key: bytes, now: datetime) -> Pairing | None:
        """The newest valid pairing of this key, or `None`."""
        found = (
            self._collection.find(
                {"public_key": public_key, "expires_at": {"$gt": to_utc_millis(now)}}
            )
            .sort(NEWEST_FIRST)
            .limit(1)
        )
        newest = [PAIRINGS.mongo.decode(document) async for document in found]
        return newest[0] if newest else None

    @observed
    async def delete_expired(self, now: datetime) -> int:
        """Delete every pairing with `expires_at <= now`; return how many."""
        deleted = await self._collection.delete_many({"expires_at": {"$lte": to_utc_millis(now)}})
        return deleted.deleted_count

    @observed
    async def delete_for_key(self, public_key: bytes) -> int:
        """Delete every pairing of this key; return how many."""
        deleted = await self._collection.delete_many({"public_key": public_key})
        return deleted.deleted_count
