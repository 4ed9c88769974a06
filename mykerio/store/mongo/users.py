"""MongoDB repository of hub users, their second factors and their settings.

A user is its `users` document plus two collections whose single-document writes make the
second factors atomic without transactions (see `indexes`): `backup_codes` holds one document
per unused code, and using a code is deleting its document; `totp_steps` holds one document per
claimed TOTP step, and claiming a step is inserting its document. The newest claimed step is
the user's `totp_last_step`; older step documents are deleted once a newer step is claimed.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from mykerio.errors import NotFound
from mykerio.models import User, email_key
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import USERS
from mykerio.store.mongo.indexes import Document, duplicates_conflict
from mykerio.store.observed import observed
from mykerio.store.values import require_distinct


class MongoUsers:
    """`UserRepository` on `users` (`email_lower` is unique), `backup_codes` and `totp_steps`."""

    domain = "users"

    def __init__(
        self,
        users: AsyncCollection[Document],
        backup_codes: AsyncCollection[Document],
        totp_steps: AsyncCollection[Document],
        on_operation: OperationObserver | None,
    ) -> None:
        self._users = users
        self._codes = backup_codes
        self._steps = totp_steps
        self.on_operation = on_operation

    @observed
    async def add(self, user: User) -> User:
        """Store a new user and return it as stored; `Conflict` if the id or email is taken."""
        require_distinct("backup code hashes", user.backup_codes)
        document = USERS.mongo.encode(user)
        with duplicates_conflict(f"a user with id {user.id} or email {user.email}"):
            await self._users.insert_one(document)
        await self._insert_codes(user.id, user.backup_codes)
        if user.totp_last_step is not None:
            await self._steps.insert_one({"user_id": user.id, "step": user.totp_last_step})
        return USERS.mongo.decode(
            document, backup_codes=user.backup_codes, totp_last_step=user.totp_last_step
        )

    @observed
    async def by_email(self, email: str) -> User | None:
        """The user with this email, compared case-insensitively, or `None`."""
        return await self._one({"email_lower": email_key(email)})

    @observed
    async def by_id(self, user_id: str) -> User | None:
        """The user with this id, or `None`."""
        return await self._one({"_id": user_id})

    @observed
    async def set_password_hash(self, user_id: str, password_hash: str, at: datetime) -> None:
        """Replace the password hash; `at` becomes `password_changed_at`."""
        changes = USERS.mongo.encode_fields(password_hash=password_hash, password_changed_at=at)
        await self._set(user_id, changes)

    @observed
    async def confirm(self, user_id: str, at: datetime) -> User:
        """Mark the email confirmed at `at` unless it already is; return the user after that."""
        await self._users.update_one(
            {"_id": user_id, "confirmed_at": None},
            {"$set": USERS.mongo.encode_fields(confirmed_at=at)},
        )
        user = await self._one({"_id": user_id})
        if user is None:
            raise NotFound(f"user {user_id}")
        return user

    @observed
    async def set_totp(self, user_id: str, sealed_secret: bytes | None) -> None:
        """Set (or with `None` remove) the sealed TOTP secret and forget `totp_last_step`."""
        await self._set(user_id, {"totp_secret": sealed_secret})
        await self._steps.delete_many({"user_id": user_id})

    @observed
    async def claim_totp_step(self, user_id: str, step: int) -> bool:
        """Atomically accept TOTP time step `step` once; `False` if it or a newer one was.

        Inserting the step's document claims it; the claim stands if no newer step has a
        document once ours exists. Two concurrent claims of different steps may then both
        stand, which is the order "older first"; a newer step's document is never deleted by
        an older claim, so a step once refused stays refused.
        """
        await self._require(user_id)
        try:
            inserted = await self._steps.insert_one({"user_id": user_id, "step": step})
        except DuplicateKeyError:
            return False
        newer = await self._steps.find_one({"user_id": user_id, "step": {"$gt": step}})
        if newer is not None:
            await self._steps.delete_one({"_id": inserted.inserted_id})
            return False
        await self._steps.delete_many({"user_id": user_id, "step": {"$lt": step}})
        return True

    @observed
    async def set_backup_codes(self, user_id: str, hashes: tuple[str, ...]) -> None:
        """Replace the backup code hashes; the old codes stop working.

        Without a transaction two concurrent replacements may both leave their codes; the old
        codes are gone either way.
        """
        require_distinct("backup code hashes", hashes)
        await self._require(user_id)
        await self._codes.delete_many({"user_id": user_id})
        await self._insert_codes(user_id, hashes)

    @observed
    async def use_backup_code(self, user_id: str, code_hash: str) -> bool:
        """Atomically use up one backup code: `True` if this call deleted its document."""
        deleted = await self._codes.delete_one({"user_id": user_id, "code_hash": code_hash})
        if deleted.deleted_count:
            return True
        await self._require(user_id)
        return False

    @observed
    async def set_phone(self, user_id: str, sealed_phone: bytes | None) -> None:
        """Set (or with `None` remove) the sealed backup phone number."""
        await self._set(user_id, {"phone": sealed_phone})

    @observed
    async def set_notifications(self, user_id: str, enabled: bool) -> None:
        """Opt in to (or out of) email notifications."""
        await self._set(user_id, {"notifications": enabled})

    @observed
    async def set_default_org(self, user_id: str, org_id: str) -> None:
        """Remember the organization the switcher chose (`""` forgets it)."""
        await self._set(user_id, {"default_org_id": org_id})

    async def _one(self, query: Document) -> User | None:
        document = await self._users.find_one(query)
        if document is None:
            return None
        user_id = document["_id"]
        codes = self._codes.find({"user_id": user_id}, {"code_hash": 1}).sort("position")
        newest = await self._steps.find_one({"user_id": user_id}, sort=[("step", DESCENDING)])
        return USERS.mongo.decode(
            document,
            backup_codes=tuple([code["code_hash"] async for code in codes]),
            totp_last_step=None if newest is None else newest["step"],
        )

    async def _insert_codes(self, user_id: str, hashes: tuple[str, ...]) -> None:
        if hashes:
            await self._codes.insert_many(
                {"user_id": user_id, "code_hash": code_hash, "position": position}
                for position, code_hash in enumerate(hashes)
            )

    async def _set(self, user_id: str, changes: Document) -> None:
        result = await self._users.update_one({"_id": user_id}, {"$set": changes})
        if not result.matched_count:
            raise NotFound(f"user {user_id}")

    async def _require(self, user_id: str) -> None:
        if await self._users.find_one({"_id": user_id}, {"_id": 1}) is None:
            raise NotFound(f"user {user_id}")
