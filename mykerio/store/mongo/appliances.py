"""MongoDB repository of appliances and the revoked keys of removed ones.

An appliance is one `appliances` document. Its public key and serial are claimed in
`appliance_keys` and `appliance_serials` (see `claims`): a unique index on the document's own
fields cannot do it, because a box reserved by serial has no key yet and most appliances have
no serial, and FerretDB has no partial indexes. `revoked_keys` holds one document per key of a
removed appliance.

Without transactions the order of writes keeps the rules: a removal revokes the key before it
deletes the document and releases the claims after, so an appliance added with that key later
finds it revoked; an add or attach checks revocation and other holders after its own write and
takes the write back if either appeared meanwhile.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from mykerio.errors import Conflict, NotFound
from mykerio.models import Appliance, name_key
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import APPLIANCES
from mykerio.store.mongo.claims import Claims
from mykerio.store.mongo.indexes import Document, duplicates_conflict
from mykerio.store.observed import observed

_REVOKED = "this public key was revoked; it needs a new pairing"


class MongoAppliances:
    """`ApplianceRepository` on `appliances`, `appliance_keys`, `appliance_serials` and
    `revoked_keys`.

    Without transactions, an appliance added while its organization's appliances are being
    removed can outlive `remove_for_org`.
    """

    domain = "appliances"

    def __init__(
        self,
        appliances: AsyncCollection[Document],
        keys: AsyncCollection[Document],
        serials: AsyncCollection[Document],
        revoked: AsyncCollection[Document],
        on_operation: OperationObserver | None,
    ) -> None:
        self._appliances = appliances
        self._keys = Claims(keys, "an appliance with this public key")
        self._serials = Claims(serials, "an appliance with this serial")
        self._revoked = revoked
        self.on_operation = on_operation

    @observed
    async def add(self, appliance: Appliance) -> Appliance:
        """Store a new appliance; `Conflict` if id, key or serial is taken or the key revoked."""
        key, serial = appliance.public_key, appliance.serial
        if key is not None and await self._is_revoked(key):
            raise Conflict(_REVOKED)
        taken: list[tuple[Claims, Any]] = []
        try:
            if key is not None and await self._take(self._keys, "public_key", key, appliance.id):
                taken.append((self._keys, key))
            if serial and await self._take(self._serials, "serial", serial, appliance.id):
                taken.append((self._serials, serial))
            document = APPLIANCES.mongo.encode(appliance)
            with duplicates_conflict(f"an appliance with id {appliance.id}"):
                await self._appliances.insert_one(document)
        except BaseException:
            await self._release(appliance.id, taken)
            raise
        problem = await self._problem(appliance.id, key, serial)
        if problem:
            await self._appliances.delete_one({"_id": appliance.id})
            await self._release(appliance.id, taken)
            raise Conflict(problem)
        return APPLIANCES.mongo.decode(document)

    @observed
    async def by_id(self, appliance_id: str) -> Appliance | None:
        """The appliance with this id, or `None`."""
        return await self._one({"_id": appliance_id})

    @observed
    async def by_public_key(self, public_key: bytes) -> Appliance | None:
        """The appliance with this public key, or `None`."""
        return await self._one({"public_key": public_key})

    @observed
    async def by_serial(self, serial: str) -> Appliance | None:
        """The appliance with this (non-empty) serial, or `None`."""
        return await self._one({"serial": serial}) if serial else None

    @observed
    async def in_org(self, org_id: str) -> list[Appliance]:
        """The organization's appliances by name (case-insensitive), ties by id."""
        found = [
            APPLIANCES.mongo.decode(document)
            async for document in self._appliances.find({"org_id": org_id})
        ]
        # Sorted here with `name_key`, so both adapters agree on every name, not only ASCII ones.
        return sorted(found, key=lambda appliance: (name_key(appliance.name), appliance.id))

    @observed
    async def count_in_org(self, org_id: str) -> int:
        """How many appliances the organization has (0 for an unknown one)."""
        return await self._appliances.count_documents({"org_id": org_id})

    @observed
    async def attach_key(
        self,
        appliance_id: str,
        public_key: bytes,
        *,
        product: str,
        version: str,
        ip: str,
        at: datetime,
    ) -> Appliance:
        """Give a box reserved by serial its key; `Conflict` if it has another one, or the key
        is revoked or another appliance's.
        """
        changes = APPLIANCES.mongo.encode_fields(
            public_key=public_key, product=product, version=version, ip=ip, last_seen=at
        )
        current = await self._one({"_id": appliance_id})
        if current is None:
            raise NotFound(f"appliance {appliance_id}")
        if current.public_key is not None and current.public_key != public_key:
            raise Conflict(f"appliance {appliance_id} already has another public key")
        if await self._is_revoked(public_key):
            raise Conflict(_REVOKED)
        taken: list[tuple[Claims, Any]] = []
        if await self._take(self._keys, "public_key", public_key, appliance_id):
            taken.append((self._keys, public_key))
        try:
            document = await self._appliances.find_one_and_update(
                {"_id": appliance_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
            )
        except BaseException:
            await self._release(appliance_id, taken)
            raise
        if document is None:
            await self._release(appliance_id, taken)
            raise NotFound(f"appliance {appliance_id}")
        problem = await self._problem(appliance_id, public_key, "")
        if problem:
            # Put back what this call changed: the appliance is as it was before.
            restored = APPLIANCES.mongo.encode_fields(
                **{field: getattr(current, field) for field in changes}
            )
            await self._appliances.update_one({"_id": appliance_id}, {"$set": restored})
            await self._release(appliance_id, taken)
            raise Conflict(problem)
        return APPLIANCES.mongo.decode(document)

    @observed
    async def rename(self, appliance_id: str, name: str) -> Appliance:
        """Give the appliance a new name and return it; `NotFound` if unknown."""
        return await self._update(appliance_id, {"name": name})

    @observed
    async def set_state(
        self,
        appliance_id: str,
        *,
        status: str,
        reasons: tuple[str, ...],
        pending: int,
        connected: bool,
        ip: str,
        at: datetime,
    ) -> Appliance:
        """Record the live state learned at `at` (`last_seen` when connected); `NotFound` if
        unknown.
        """
        changes = APPLIANCES.mongo.encode_fields(
            status=status,
            status_reasons=reasons,
            pending_notifications=pending,
            connected=connected,
            ip=ip,
            last_seen=at,  # encoded even when not connected: a naive `at` is refused
        )
        if not connected:
            del changes["last_seen"]
        return await self._update(appliance_id, changes)

    @observed
    async def remove(self, appliance_id: str) -> Appliance | None:
        """Revoke the key, delete the appliance, then free its claims; return it, or `None`."""
        appliance = await self._one({"_id": appliance_id})
        if appliance is None:
            return None
        if appliance.public_key is not None:
            await self._revoke([appliance.public_key])
        deleted = await self._appliances.delete_one({"_id": appliance_id})
        if not deleted.deleted_count:
            return None
        await self._release_all([appliance_id])
        return appliance

    @observed
    async def remove_for_org(self, org_id: str) -> int:
        """Remove the organization's appliances, revoking their keys; return how many."""
        found = self._appliances.find({"org_id": org_id}, {"_id": 1, "public_key": 1})
        documents = [document async for document in found]
        if not documents:
            return 0
        ids = [document["_id"] for document in documents]
        keys = [document["public_key"] for document in documents]
        await self._revoke([key for key in keys if key is not None])
        deleted = await self._appliances.delete_many({"_id": {"$in": ids}, "org_id": org_id})
        await self._release_all(ids)
        return deleted.deleted_count

    @observed
    async def is_revoked(self, public_key: bytes) -> bool:
        """Whether the key belonged to a removed appliance and was not unrevoked since."""
        return await self._is_revoked(public_key)

    @observed
    async def unrevoke(self, public_key: bytes) -> bool:
        """Allow the key again; `True` if it was revoked."""
        deleted = await self._revoked.delete_one({"_id": public_key})
        return deleted.deleted_count > 0

    async def _one(self, query: Document) -> Appliance | None:
        document = await self._appliances.find_one(query)
        return None if document is None else APPLIANCES.mongo.decode(document)

    async def _update(self, appliance_id: str, changes: Document) -> Appliance:
        document = await self._appliances.find_one_and_update(
            {"_id": appliance_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        if document is None:
            raise NotFound(f"appliance {appliance_id}")
        return APPLIANCES.mongo.decode(document)

    async def _is_revoked(self, public_key: bytes) -> bool:
        return await self._revoked.find_one({"_id": public_key}) is not None

    async def _revoke(self, keys: list[bytes]) -> None:
        for key in keys:
            # A key revoked already is in the state wanted.
            with suppress(DuplicateKeyError):
                await self._revoked.insert_one({"_id": key})

    async def _take(self, claims: Claims, field: str, value: Any, appliance_id: str) -> bool:
        """Claim `value` of `field` for the appliance; `True` if this call took the claim."""

        async def holds(owner: str) -> bool:
            found = await self._appliances.find_one({"_id": owner, field: value}, {"_id": 1})
            return found is not None

        return await claims.take(value, appliance_id, holds)

    async def _problem(self, appliance_id: str, key: bytes | None, serial: str) -> str:
        """Why the appliance just written must be taken back ("" if it need not): its key was
        revoked, or another appliance holds its key or serial, all meanwhile.
        """
        held: list[tuple[str, Any]] = []
        if key is not None:
            if await self._is_revoked(key):
                return _REVOKED
            held.append(("public_key", key))
        if serial:
            held.append(("serial", serial))
        for field, value in held:
            query = {field: value, "_id": {"$ne": appliance_id}}
            if await self._appliances.find_one(query, {"_id": 1}) is not None:
                return f"another appliance has this {field.replace('_', ' ')}"
        return ""

    async def _release(self, appliance_id: str, taken: list[tuple[Claims, Any]]) -> None:
        for claims, value in taken:
            await claims.release(value, appliance_id)

    async def _release_all(self, appliance_ids: list[str]) -> None:
        """Revoke the keys these (deleted) appliances still claim, then free all their claims.

        A key attached while the appliance was being removed is claimed but was not in the
        document the removal read; it is revoked here all the same.
        """
        await self._revoke(await self._keys.held_by(appliance_ids))
        await self._keys.release_all(appliance_ids)
        await self._serials.release_all(appliance_ids)
