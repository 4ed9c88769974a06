"""Unique values (appliance keys, serials) held by one owner each, without partial indexes.

A claim is a document `{_id: value, owner, claimed_at}` in a collection of its own. Inserting it
takes the value: the unique `_id` lets exactly one of concurrent claimants in, which is atomic
on FerretDB too (see `indexes`). The owner takes the claim before its own document carries the
value and releases it after the document no longer does.

A process that dies between those two writes leaves a claim whose owner does not hold the value.
Such a claim is taken over once it is older than `STALE_AFTER`; of concurrent takers, the one
whose conditional delete removes it goes on. A writer stalled for longer than that could then
meet a taker, so the repository also checks, after each write, that no other document holds
the value (see `mongo.appliances`): claims make concurrent writers agree on one winner, that
check makes sure no two of them succeed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from mykerio.errors import Conflict
from mykerio.store.mongo.indexes import Document

STALE_AFTER = timedelta(minutes=10)
"""How old a claim whose owner does not hold its value must be before another may take it.

Taking a claim and writing the owner's document take milliseconds; this is far beyond that.
It is measured on the wall clock, not a domain clock: it guards against crashes, not users.
"""

Holds = Callable[[str], Awaitable[bool]]
"""Whether the owner with this id holds the claimed value in its own document now."""


class Claims:
    """The claims on one kind of value, in one collection (with an index on `owner`)."""

    def __init__(self, collection: AsyncCollection[Document], what: str) -> None:
        self._collection = collection
        self._what = what

    async def take(self, value: Any, owner: str, holds: Holds) -> bool:
        """Claim `value` for `owner`: `True` if this call took it, `False` if the owner already
        had it; `Conflict` if another owner has it.
        """
        for _ in range(2):
            claim = {"_id": value, "owner": owner, "claimed_at": datetime.now(UTC)}
            try:
                await self._collection.insert_one(claim)
                return True
            except DuplicateKeyError:
                pass
            existing = await self._collection.find_one({"_id": value})
            if existing is None:
                continue  # released meanwhile: try again
            if existing["owner"] == owner:
                return False
            if not self._stale(existing) or await holds(existing["owner"]):
                break
            await self._collection.delete_one(
                {"_id": value, "owner": existing["owner"], "claimed_at": existing["claimed_at"]}
            )
        raise Conflict(f"{self._what} already exists")

    async def release(self, value: Any, owner: str) -> None:
        """Give `value` up if `owner` has it; another owner's claim stays."""
        await self._collection.delete_one({"_id": value, "owner": owner})

    async def held_by(self, owners: list[str]) -> list[Any]:
        """The values claimed by any of `owners`."""
        found = self._collection.find({"owner": {"$in": owners}}, {"_id": 1})
        return [document["_id"] async for document in found]

    async def release_all(self, owners: list[str]) -> None:
        """Give up every value claimed by any of `owners`."""
        await self._collection.delete_many({"owner": {"$in": owners}})

    @staticmethod
    def _stale(claim: Document) -> bool:
        claimed_at: datetime = claim["claimed_at"]
        return claimed_at <= datetime.now(UTC) - STALE_AFTER
