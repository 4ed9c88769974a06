"""What every part of an OrganizationActor shares: the organization, its members, its roster.

The actor is one per organization (key `org:<id>`); its parts (membership and invitations, the
appliance roster and its history, the activity log) are mixins of `OrganizationCore`, each in
its own module, so that each owns one thing while all of them run one message at a time in the
one actor and share this state without locks.

Every organization-scoped request first checks that the caller is a member: anyone else gets
the same 404 as for an organization that does not exist. Changes are written to the store
first, then to the actor's own state, then recorded in the activity log and published on the
bus (`mykerio.organizations.events`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from actors.appliance import ApplianceActor
from actors.clients import ActorClient
from actors.runtime import LoopActor, LoopRuntime
from mykerio.accounts.context import Client, Links
from mykerio.appliances.listing import Listing
from mykerio.appliances.roster import ApplianceRoster
from mykerio.appliances.view import ApplianceView
from mykerio.backups.vault import BackupVault
from mykerio.bus import EventBus
from mykerio.clock import Clock
from mykerio.errors import NotFound
from mykerio.mail.message import Email
from mykerio.models import ActivityEvent, Membership, Organization, User, new_id
from mykerio.organizations.invitations import InvitationDesk
from mykerio.store.base import Store

SendMail = Callable[[Email], Awaitable[Any]]
# The actor of a connected appliance, or None.
FindAppliance = Callable[[str], ActorClient[ApplianceActor] | None]


class OrganizationCore(LoopActor):
    """State and checks shared by the parts of one organization's actor."""

    kind = "organization"

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        org_id: str,
        store: Store,
        clock: Clock,
        links: Links,
        send_mail: SendMail,
        bus: EventBus,
        find_appliance: FindAppliance = lambda _id: None,
        backups: BackupVault | None = None,
    ) -> None:
        super().__init__(runtime=runtime, name=name or f"org:{org_id}")
        self.org_id = org_id
        self._store = store
        self._clock = clock
        self._links = links
        self._send_mail = send_mail
        self._bus = bus
        self._find_appliance = find_appliance
        self._backups = backups  # (the backups part's downloads; None: not on this hub)
        self._appliances = ApplianceRoster(store, clock)
        self._invitations = InvitationDesk(store, clock, links)
        self._org: Organization | None = None
        self._members: dict[str, Membership] = {}
        # The organization's appliances as listed (each one's JSON kept encoded).
        self._roster = Listing()

    async def on_start(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
        """Load the organization, its members and its appliances."""
        self._org = await self._store.organizations.by_id(self.org_id)
        if self._org is None:
            # No such organization: answer what is already queued (404s), then go away.
            self.stop()
            return
        members = await self._store.organizations.members(self.org_id)
        self._members = {m.user_id: m for m in members}
        for appliance in await self._store.appliances.in_org(self.org_id):
            view = ApplianceView.of(appliance)
            if view.connected and self._find_appliance(view.id) is None:
                # Stored as connected, but no socket holds it (the hub restarted or crashed):
                # offline until it reconnects and its actor reports again.
                view = dataclasses.replace(
                    view, connected=False, status="red", reasons=("Offline",)
                )
            self._roster[appliance.id] = view

    def is_member(self, user_id: str) -> bool:
        """Whether `user_id` belongs to this (existing) organization."""
        return self._org is not None and user_id in self._members

    def member_ids(self) -> tuple[str, ...]:
        """Members' user ids (for other actors that fan out to members)."""
        return tuple(self._members)

    def require_member(self, user: User) -> None:
        """`NotFound` unless `user` is a member (asked before credentials go to a box)."""
        self._require_member(user)

    def _require_member(self, user: User) -> Organization:
        if self._org is None or user.id not in self._members:
            # Not a member and not there at all answer the same, so ids reveal nothing.
            raise NotFound(f"organization {self.org_id}")
        return self._org

    async def _record(
        self, user: User, client: Client, action: str, target: str, detail: str
    ) -> None:
        """An activity log entry by a member."""
        await self._store.activity.add(
            ActivityEvent(
                id=new_id(),
                org_id=self.org_id,
                actor_id=user.id,
                actor_email=user.email,
                at=self._clock.now(),
                ip=client.ip,
                action=action,
                target=target,
                detail=detail,
            )
        )
