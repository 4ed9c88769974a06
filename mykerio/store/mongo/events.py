"""Append-only records (`mykerio.store.events`) in a MongoDB collection, paged newest first by
`(at, _id)`.

The MongoDB twin of `mykerio.store.sqlite.events`: conditions become one `$and` filter, sorted
by `at` then `_id`, both descending, so pages neither repeat nor skip documents with equal
times.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Generic, TypeVar

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from mykerio.errors import Conflict
from mykerio.store.codec import Table
from mykerio.store.events import Where
from mykerio.store.mongo.indexes import EVENTS_NEWEST_FIRST, Document, duplicates_conflict
from mykerio.store.values import require_positive

M = TypeVar("M")
DUPLICATE_KEY = 11000


class MongoEvents(Generic[M]):
    """`EventTable` on the collection of `table`."""

    def __init__(self, collection: AsyncCollection[Document], table: Table[M]) -> None:
        self._collection = collection
        self._codec = table.mongo

    async def add(self, record: M, what: str) -> M:
        """Store a new record and return it as stored; `Conflict` if its id is taken."""
        document = self._codec.encode(record)
        with duplicates_conflict(what):
            await self._collection.insert_one(document)
        return self._codec.decode(document)

    async def add_many(self, records: Sequence[M], what: str) -> None:
        """Store new records with one insert; `Conflict` if an id is taken."""
        if not records:
            return
        try:
            await self._collection.insert_many([self._codec.encode(r) for r in records])
        except BulkWriteError as error:
            if any(e.get("code") == DUPLICATE_KEY for e in error.details.get("writeErrors", [])):
                raise Conflict(f"{what} already exists") from error
            raise

    async def page(
        self, where: Where, *, limit: int, before: tuple[datetime, str] | None
    ) -> list[M]:
        """At most `limit` matching records older than `before`, newest first."""
        require_positive("limit", limit)
        conditions = self._conditions(where)
        if before is not None:
            cursor = self._codec.encode_fields(at=before[0], id=before[1])
            at, item_id = cursor["at"], cursor["_id"]
            conditions.append({"$or": [{"at": {"$lt": at}}, {"at": at, "_id": {"$lt": item_id}}]})
        query = {"$and": conditions} if conditions else {}
        found = self._collection.find(query).sort(EVENTS_NEWEST_FIRST).limit(limit)
        return [self._codec.decode(document) async for document in found]

    async def delete(self, where: Where) -> int:
        """Delete the matching records; return how many."""
        conditions = self._conditions(where)
        deleted = await self._collection.delete_many({"$and": conditions} if conditions else {})
        return deleted.deleted_count

    def _conditions(self, where: Where) -> list[Document]:
        """The query documents (joined by `$and`) for `where`."""
        equal = {name: value for name, value in where.equal.items() if value is not None}
        conditions: list[Document] = [
            {key: value} for key, value in self._codec.encode_fields(**equal).items()
        ]
        for name, values in where.one_of.items():
            stored = [self._codec.encode_fields(**{name: value}) for value in values]
            key = self._codec.column(name)
            conditions.append({key: {"$in": [one[key] for one in stored]}})
        for bound, operator in ((where.since, "$gte"), (where.until, "$lt")):
            if bound is not None:
                conditions.append({"at": {operator: self._codec.encode_fields(at=bound)["at"]}})
        return conditions
