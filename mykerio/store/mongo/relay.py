"""MongoDB repository of the notification relay (`relay_senders`, `relay_blacklist`)."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from mykerio.models import BlacklistEntry, RelaySender
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import RELAY_BLACKLIST, RELAY_SENDERS
from mykerio.store.mongo.indexes import Document
from mykerio.store.observed import observed


class MongoRelay:
    """`RelayRepository` on two collections whose `_id` is the sender id and the address."""

    domain = "relay"

    def __init__(
        self,
        senders: AsyncCollection[Document],
        blacklist: AsyncCollection[Document],
        on_operation: OperationObserver | None,
    ) -> None:
        self._senders = senders
        self._blacklist = blacklist
        self.on_operation = on_operation

    @observed
    async def sender(self, sender_id: str) -> RelaySender | None:
        """One sender's record, or None."""
        document = await self._senders.find_one({"_id": sender_id})
        return None if document is None else RELAY_SENDERS.mongo.decode(document)

    @observed
    async def save_sender(self, sender: RelaySender) -> None:
        """Insert or replace a sender's record."""
        document = RELAY_SENDERS.mongo.encode(sender)
        await self._senders.replace_one({"_id": document["_id"]}, document, upsert=True)

    @observed
    async def blacklist(self) -> list[BlacklistEntry]:
        """Every entry, by address."""
        found = self._blacklist.find({}).sort([("_id", ASCENDING)])
        return [RELAY_BLACKLIST.mongo.decode(document) async for document in found]

    @observed
    async def save_blacklisted(self, entry: BlacklistEntry) -> None:
        """Insert or replace an entry."""
        document = RELAY_BLACKLIST.mongo.encode(entry)
        await self._blacklist.replace_one({"_id": document["_id"]}, document, upsert=True)

    @observed
    async def remove_blacklisted(self, address: str) -> bool:
        """Delete one entry; whether there was one."""
        result = await self._blacklist.delete_one({"_id": address})
        return result.deleted_count > 0

    @observed
    async def delete_released(self, now: datetime) -> int:
        """Delete the entries released by `now`."""
        release = RELAY_BLACKLIST.mongo.encode_fields(release_at=now)
        result = await self._blacklist.delete_many({"release_at": {"$lte": release["release_at"]}})
        return result.deleted_count
