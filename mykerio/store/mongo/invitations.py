"""MongoDB repository of invitations to organizations and the token hashes of their links.

An invitation is one `invitations` document, unique per `org_id` and `email_lower`; each link
sent for it is one `invitation_tokens` document whose `_id` is the token's hash and whose
`invitation_id` points at the invitation. A link leads somewhere only while the invitation it
points at is stored and pending. So deleting the invitation document is what makes every link
fail at once, and since a delete's `deleted_count` is atomic on FerretDB too, it is also what
makes `delete` the single-use gate (see `indexes`). Token documents are deleted after their
invitation; the orders of writes below leave none behind when operations race, except that an
invitation added while `delete_for_org` runs may leave its token pointing at nothing (ids are
never reused, so such a token never leads anywhere).
"""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from mykerio.errors import Conflict, NotFound
from mykerio.models import Invitation, email_key
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import INVITATIONS
from mykerio.store.mongo.indexes import OLDEST_FIRST, Document, duplicates_conflict
from mykerio.store.observed import observed
from mykerio.store.values import to_utc_millis


class MongoInvitations:
    """`InvitationRepository` on the `invitations` and `invitation_tokens` collections."""

    domain = "invitations"

    def __init__(
        self,
        invitations: AsyncCollection[Document],
        tokens: AsyncCollection[Document],
        on_operation: OperationObserver | None,
    ) -> None:
        self._invitations = invitations
        self._tokens = tokens
        self.on_operation = on_operation

    @observed
    async def add(self, invitation: Invitation, token_hash: str) -> Invitation:
        """Replace an expired invitation of the same pair, store this one with its first
        token hash, and return it; `Conflict` for a pending pair, a taken id or a taken hash.

        The token goes in first, so the invitation never exists without it; if the invitation
        is then refused, the token is taken out again. Of concurrent adds for one pair the
        unique index lets exactly one in.
        """
        document = INVITATIONS.mongo.encode(invitation)
        await self._delete_where(
            {
                "org_id": document["org_id"],
                "email_lower": document["email_lower"],
                "expires_at": {"$lte": document["created_at"]},
            }
        )
        with duplicates_conflict("an invitation token with this hash"):
            await self._tokens.insert_one({"_id": token_hash, "invitation_id": invitation.id})
        try:
            await self._invitations.insert_one(document)
        except DuplicateKeyError as error:
            await self._tokens.delete_one({"_id": token_hash})
            raise Conflict(
                f"an invitation with id {invitation.id} or of {invitation.email} to "
                f"{invitation.org_id} already exists"
            ) from error
        return INVITATIONS.mongo.decode(document)

    @observed
    async def by_id(self, invitation_id: str) -> Invitation | None:
        """The stored invitation with this id, pending or expired, or `None`."""
        document = await self._invitations.find_one({"_id": invitation_id})
        return None if document is None else INVITATIONS.mongo.decode(document)

    @observed
    async def by_token(self, token_hash: str, now: datetime) -> Invitation | None:
        """The pending invitation one of whose links carries this token hash, or `None`."""
        token = await self._tokens.find_one({"_id": token_hash})
        if token is None:
            return None
        document = await self._invitations.find_one(
            {"_id": token["invitation_id"], "expires_at": {"$gt": to_utc_millis(now)}}
        )
        return None if document is None else INVITATIONS.mongo.decode(document)

    @observed
    async def renew(self, invitation_id: str, token_hash: str, expires_at: datetime) -> Invitation:
        """Add a link's token hash and move the expiry; `NotFound` if gone, `Conflict` if the
        hash is taken.

        The token goes in before the expiry moves, and the invitation is read back after: if a
        concurrent `delete` removed it meanwhile, the token is taken out again and the answer
        is `NotFound`; if not, that delete comes later and takes the token along.
        """
        expires = to_utc_millis(expires_at)
        if await self._invitations.find_one({"_id": invitation_id}, {"_id": 1}) is None:
            raise NotFound(f"invitation {invitation_id}")
        with duplicates_conflict("an invitation token with this hash"):
            await self._tokens.insert_one({"_id": token_hash, "invitation_id": invitation_id})
        await self._invitations.update_one(
            {"_id": invitation_id}, {"$set": {"expires_at": expires}}
        )
        document = await self._invitations.find_one({"_id": invitation_id})
        if document is None:
            await self._tokens.delete_one({"_id": token_hash})
            raise NotFound(f"invitation {invitation_id}")
        return INVITATIONS.mongo.decode(document)

    @observed
    async def pending(self, org_id: str, now: datetime) -> list[Invitation]:
        """The organization's pending invitations, oldest first (ties by id)."""
        return await self._pending({"org_id": org_id}, now)

    @observed
    async def pending_for_email(self, email: str, now: datetime) -> list[Invitation]:
        """The pending invitations of this address (case-insensitive), oldest first."""
        return await self._pending({"email_lower": email_key(email)}, now)

    @observed
    async def delete(self, invitation_id: str) -> bool:
        """Delete the invitation, then its token hashes; `True` if this call deleted it."""
        deleted = await self._invitations.delete_one({"_id": invitation_id})
        if not deleted.deleted_count:
            return False
        await self._tokens.delete_many({"invitation_id": invitation_id})
        return True

    @observed
    async def delete_expired(self, now: datetime) -> int:
        """Delete the invitations with `expires_at <= now` and their token hashes; how many."""
        return await self._delete_where({"expires_at": {"$lte": to_utc_millis(now)}})

    @observed
    async def delete_for_org(self, org_id: str) -> int:
        """Delete the organization's invitations with their token hashes; how many."""
        return await self._delete_where({"org_id": org_id})

    async def _pending(self, query: Document, now: datetime) -> list[Invitation]:
        found = self._invitations.find({**query, "expires_at": {"$gt": to_utc_millis(now)}}).sort(
            OLDEST_FIRST
        )
        return [INVITATIONS.mongo.decode(document) async for document in found]

    async def _delete_where(self, query: Document) -> int:
        """Delete the invitations matching `query`, then the tokens of those now gone.

        The delete repeats `query`, so an invitation renewed since it was found is kept, and
        so are its tokens.
        """
        ids = [document["_id"] async for document in self._invitations.find(query, {"_id": 1})]
        if not ids:
            return 0
        deleted = await self._invitations.delete_many({**query, "_id": {"$in": ids}})
        remaining = self._invitations.find({"_id": {"$in": ids}}, {"_id": 1})
        kept = {document["_id"] async for document in remaining}
        gone = [invitation_id for invitation_id in ids if invitation_id not in kept]
        if gone:
            await self._tokens.delete_many({"invitation_id": {"$in": gone}})
        return deleted.deleted_count
