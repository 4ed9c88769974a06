"""MongoDB repository of appliances, including the atomic upsert behind an appliance's hello."""

from __future__ import annotations

from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from mykerio.errors import NotFound
from mykerio.models import Appliance, new_id
from mykerio.store.base import OperationObserver
from mykerio.store.mongo.documents import appliance_document, appliance_from_document
from mykerio.store.mongo.indexes import Document, duplicates_conflict
from mykerio.store.observed import observed
from mykerio.store.values import to_utc_millis


class MongoAppliances:
    """`ApplianceRepository` on the `appliances` collection; `public_key` has a unique index."""

    domain = "appliances"

    def __init__(
        self, collection: AsyncCollection[Document], on_operation: OperationObserver | None
    ) -> None:
        self._collection = collection
        self.on_operation = on_operation

    @observed
    async def add(self, appliance: Appliance) -> Appliance:
        """Store a new appliance and return it as stored; `Conflict` if id or key is taken."""
        document = appliance_document(appliance)
        with duplicates_conflict(f"an appliance with id {appliance.id} or this public key"):
            await self._collection.insert_one(document)
        return appliance_from_document(document)

    @observed
    async def by_id(self, appliance_id: str) -> Appliance | None:
        """The appliance with this id, or `None`."""
        document = await self._collection.find_one({"_id": appliance_id})
        return None if document is None else appliance_from_document(document)

    @observed
    async def record_hello(
        self, public_key: bytes, *, product: str, version: str, ip: str, seen_at: datetime
    ) -> Appliance:
        """Atomically insert or update the appliance with this key and return it after the write."""
        seen = to_utc_millis(seen_at)
        update = {
            "$set": {
                "product": product,
                "version": version,
                "ip": ip,
                "status": "green",
                "last_seen": seen,
            },
            "$setOnInsert": {"_id": new_id(), "org_id": "", "name": product, "created_at": seen},
        }
        try:
            document = await self._upsert(public_key, update)
        except DuplicateKeyError:
            # Two upserts of one new key raced: both found nothing and inserted, and the unique
            # index refused ours. The key exists now, so the same upsert is a plain update.
            document = await self._upsert(public_key, update)
        return appliance_from_document(document)

    async def _upsert(self, public_key: bytes, update: Document) -> Document:
        document = await self._collection.find_one_and_update(
            {"public_key": public_key},
            update,
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        # An upsert that returns the document after the write always has one to return.
        assert document is not None
        return document

    @observed
    async def set_status(self, appliance_id: str, status: str, at: datetime) -> Appliance:
        """Set the status, learned at `at` (which becomes `last_seen`); `NotFound` if unknown."""
        document = await self._collection.find_one_and_update(
            {"_id": appliance_id},
            {"$set": {"status": status, "last_seen": to_utc_millis(at)}},
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            raise NotFound(f"appliance {appliance_id}")
        return appliance_from_document(document)
