"""Creating organizations and finding invitations: the user-scoped side of organizations.

Everything that concerns one existing organization goes through its `OrganizationActor`;
creating a new one, or finding which organization an invitation link belongs to, happens
before there is an organization to ask.
"""

from __future__ import annotations

from mykerio.accounts.context import Client
from mykerio.clock import Clock
from mykerio.models import ActivityEvent, Invitation, Organization, User, new_id
from mykerio.organizations.rules import clean_org_name
from mykerio.security.tokens import token_hash
from mykerio.store.base import Store


class Founding:
    """Creates organizations and resolves invitation links."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def create(self, user: User, name: str, client: Client) -> Organization:
        """A new organization with `user` as its first member."""
        now = self._clock.now()
        org = await self._store.organizations.add(
            Organization(id=new_id(), name=clean_org_name(name), created_at=now)
        )
        await self._store.organizations.add_member(org.id, user.id, now)
        await self.record_created(user, org, client)
        return org

    async def record_created(self, user: User, org: Organization, client: Client) -> None:
        """Put "organization created" in the new organization's activity log."""
        await self._store.activity.add(
            ActivityEvent(
                id=new_id(),
                org_id=org.id,
                actor_id=user.id,
                actor_email=user.email,
                at=self._clock.now(),
                ip=client.ip,
                action="organization_created",
                target=org.name,
                detail="",
            )
        )

    async def find_invitation(self, token: str) -> Invitation | None:
        """The still-valid invitation of a link's token, or None."""
        if not token:
            return None
        return await self._store.invitations.by_token(token_hash(token), self._clock.now())
