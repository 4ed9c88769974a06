"""Creating organizations and finding invitations: the user-scoped side of organizations.

Everything that concerns one existing organization goes through its `OrganizationActor`;
creating a new one, or finding which organization an invitation link belongs to, happens
before there is an organization to ask.

Names are unique among each user's organizations (compared case-insensitively, after the
spaces are tidied): the organization switcher shows only names, so two "Acme" would look the
same. Creating, renaming and accepting an invitation each refuse a name that would make two of
one person's organizations look alike, with 409 `conflict`.
"""

from __future__ import annotations

import unicodedata

from mykerio.accounts.context import Client
from mykerio.clock import Clock
from mykerio.errors import Conflict
from mykerio.models import ActivityEvent, Invitation, Organization, User, new_id
from mykerio.organizations.rules import clean_org_name
from mykerio.security.tokens import token_hash
from mykerio.store.base import Store


def name_key(name: str) -> str:
    """The form in which two organization names are compared: case-folded NFKC."""
    return unicodedata.normalize("NFKC", name).casefold()


async def ensure_name_free(
    store: Store,
    user_id: str,
    name: str,
    *,
    except_org: str = "",
    whose: str = "You",
    hint: str = "Choose another name so the two can be told apart.",
) -> None:
    """`Conflict` if the user already belongs to another organization with this name."""
    key = name_key(name)
    verb = "belong" if whose == "You" else "belongs"
    for org in await store.organizations.of_user(user_id):
        if org.id != except_org and name_key(org.name) == key:
            raise Conflict(f'{whose} already {verb} to an organization named "{org.name}". {hint}')


class Founding:
    """Creates organizations and resolves invitation links."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def create(self, user: User, name: str, client: Client) -> Organization:
        """A new organization with `user` as its first member."""
        now = self._clock.now()
        clean = clean_org_name(name)
        await ensure_name_free(self._store, user.id, clean)
        org = await self._store.organizations.add(
            Organization(id=new_id(), name=clean, created_at=now)
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
