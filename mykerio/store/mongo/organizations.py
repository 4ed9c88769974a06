"""MongoDB repository of organizations and their memberships."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from mykerio.errors import NotFound
from mykerio.models import Membership, Organization
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import MEMBERSHIPS, ORGANIZATIONS
from mykerio.store.mongo.indexes import Document, duplicates_conflict
from mykerio.store.observed import observed


class MongoOrganizations:
    """`OrganizationRepository` on `organizations` and `memberships`.

    Without transactions, a member added while its organization is being deleted can outlive
    it; `of_user` lists only organizations that exist.
    """

    domain = "organizations"

    def __init__(
        self,
        organizations: AsyncCollection[Document],
        memberships: AsyncCollection[Document],
        on_operation: OperationObserver | None,
    ) -> None:
        self._organizations = organizations
        self._memberships = memberships
        self.on_operation = on_operation

    @observed
    async def add(self, organization: Organization) -> Organization:
        """Store a new organization and return it as stored; `Conflict` if the id is taken."""
        document = ORGANIZATIONS.mongo.encode(organization)
        with duplicates_conflict(f"an organization with id {organization.id}"):
            await self._organizations.insert_one(document)
        return ORGANIZATIONS.mongo.decode(document)

    @observed
    async def by_id(self, org_id: str) -> Organization | None:
        """The organization with this id, or `None`."""
        document = await self._organizations.find_one({"_id": org_id})
        return None if document is None else ORGANIZATIONS.mongo.decode(document)

    @observed
    async def rename(self, org_id: str, name: str) -> Organization:
        """Give the organization a new name and return it; `NotFound` if unknown."""
        document = await self._organizations.find_one_and_update(
            {"_id": org_id}, {"$set": {"name": name}}, return_document=ReturnDocument.AFTER
        )
        if document is None:
            raise NotFound(f"organization {org_id}")
        return ORGANIZATIONS.mongo.decode(document)

    @observed
    async def delete(self, org_id: str) -> None:
        """Delete the organization, then its memberships; `NotFound` if unknown."""
        deleted = await self._organizations.delete_one({"_id": org_id})
        if not deleted.deleted_count:
            raise NotFound(f"organization {org_id}")
        await self._memberships.delete_many({"org_id": org_id})

    @observed
    async def add_member(self, org_id: str, user_id: str, at: datetime) -> Membership:
        """Make the user a member since `at`; `NotFound` or `Conflict` as the protocol says."""
        membership = Membership(org_id=org_id, user_id=user_id, joined_at=at)
        document = MEMBERSHIPS.mongo.encode(membership)
        if await self._organizations.find_one({"_id": org_id}, {"_id": 1}) is None:
            raise NotFound(f"organization {org_id}")
        with duplicates_conflict(f"membership of user {user_id} in {org_id}"):
            await self._memberships.insert_one(document)
        return MEMBERSHIPS.mongo.decode(document)

    @observed
    async def remove_member(self, org_id: str, user_id: str) -> bool:
        """End the membership; `True` if there was one."""
        deleted = await self._memberships.delete_one({"org_id": org_id, "user_id": user_id})
        return deleted.deleted_count > 0

    @observed
    async def members(self, org_id: str) -> list[Membership]:
        """The organization's memberships, longest-standing first (ties by user id)."""
        found = self._memberships.find({"org_id": org_id}).sort(
            [("joined_at", ASCENDING), ("user_id", ASCENDING)]
        )
        return [MEMBERSHIPS.mongo.decode(document) async for document in found]

    @observed
    async def of_user(self, user_id: str) -> list[Organization]:
        """The organizations the user belongs to, by name (code point order), ties by id."""
        memberships = self._memberships.find({"user_id": user_id}, {"org_id": 1})
        org_ids = [document["org_id"] async for document in memberships]
        if not org_ids:
            return []
        found = self._organizations.find({"_id": {"$in": org_ids}}).sort(
            [("name", ASCENDING), ("_id", ASCENDING)]
        )
        return [ORGANIZATIONS.mongo.decode(document) async for document in found]

    @observed
    async def is_member(self, org_id: str, user_id: str) -> bool:
        """Whether the user belongs to the organization."""
        found = await self._memberships.find_one({"org_id": org_id, "user_id": user_id})
        return found is not None

    @observed
    async def count_members(self, org_id: str) -> int:
        """How many members the organization has (0 for an unknown one)."""
        return await self._memberships.count_documents({"org_id": org_id})
