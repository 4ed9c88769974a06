"""MongoDB repository of single-use tokens."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection

from mykerio.models import OneTimeToken
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import TOKENS
from mykerio.store.mongo.indexes import Document, duplicates_conflict
from mykerio.store.observed import observed
from mykerio.store.values import to_utc_millis


class MongoTokens:
    """`TokenRepository` on the `tokens` collection; `_id` is the token's hash."""

    domain = "tokens"

    def __init__(
        self, collection: AsyncCollection[Document], on_operation: OperationObserver | None
    ) -> None:
        self._collection = collection
        self.on_operation = on_operation

    @observed
    async def add(self, token: OneTimeToken) -> OneTimeToken:
        """Store a new token and return it as stored; `Conflict` if the hash is taken."""
        document = TOKENS.mongo.encode(token)
        with duplicates_conflict("a token with this hash"):
            await self._collection.insert_one(document)
        return TOKENS.mongo.decode(document)

    @observed
    async def consume(self, token_hash: str, purpose: str, now: datetime) -> OneTimeToken | None:
        """Atomically use the token up: it if valid for `purpose` at `now`, else `None`.

        Read, then delete: a token never changes, so what was read is what gets deleted, and
        of concurrent deletes exactly one reports a deleted document. (`find_one_and_delete`
        would not do: FerretDB 1.24 returns the document to every concurrent caller.)
        """
        now = to_utc_millis(now)
        query = {"_id": token_hash, "purpose": purpose}
        document = await self._collection.find_one(query)
        if document is None:
            return None
        if not (await self._collection.delete_one(query)).deleted_count:
            return None
        token = TOKENS.mongo.decode(document)
        return token if token.expires_at > now else None

    @observed
    async def peek(self, token_hash: str, purpose: str, now: datetime) -> OneTimeToken | None:
        """The token if it has this purpose and `expires_at > now`, without using it up."""
        document = await self._collection.find_one(
            {"_id": token_hash, "purpose": purpose, "expires_at": {"$gt": to_utc_millis(now)}}
        )
        return None if document is None else TOKENS.mongo.decode(document)

    @observed
    async def delete_for_user(self, user_id: str, purpose: str) -> int:
        """Delete the user's tokens of this purpose; return how many."""
        deleted = await self._collection.delete_many({"user_id": user_id, "purpose": purpose})
        return deleted.deleted_count

    @observed
    async def delete_expired(self, now: datetime) -> int:
        """Delete every token with `expires_at <= now`; return how many."""
        deleted = await self._collection.delete_many({"expires_at": {"$lte": to_utc_millis(now)}})
        return deleted.deleted_count
