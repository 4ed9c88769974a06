"""MongoDB repository of hub users."""

from __future__ import annotations

from pymongo.asynchronous.collection import AsyncCollection

from mykerio.models import User, email_key
from mykerio.store.base import OperationObserver
from mykerio.store.mongo.documents import user_document, user_from_document
from mykerio.store.mongo.indexes import Document, duplicates_conflict
from mykerio.store.observed import observed


class MongoUsers:
    """`UserRepository` on the `users` collection; `email_lower` has a unique index."""

    domain = "users"

    def __init__(
        self, collection: AsyncCollection[Document], on_operation: OperationObserver | None
    ) -> None:
        self._collection = collection
        self.on_operation = on_operation

    @observed
    async def add(self, user: User) -> User:
        """Store a new user and return it as stored; `Conflict` if the id or email is taken."""
        document = user_document(user)
        with duplicates_conflict(f"a user with id {user.id} or email {user.email}"):
            await self._collection.insert_one(document)
        return user_from_document(document)

    @observed
    async def by_email(self, email: str) -> User | None:
        """The user with this email, compared case-insensitively, or `None`."""
        document = await self._collection.find_one({"email_lower": email_key(email)})
        return None if document is None else user_from_document(document)

    @observed
    async def by_id(self, user_id: str) -> User | None:
        """The user with this id, or `None`."""
        document = await self._collection.find_one({"_id": user_id})
        return None if document is None else user_from_document(document)
