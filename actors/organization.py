"""OrganizationActor: one per organization; owns its member list and pending invitations.

Started by the supervisor on first use (key `org:<id>`). Every organization-scoped request
goes through it, and the first thing each does is check that the caller is a member: anyone
else gets the same 404 as for an organization that does not exist. Changes are written to the
store first, then to the actor's own state, then recorded in the activity log and announced
through `publish` (the dashboard's live sockets listen there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pykka import ActorRef
from pykka.messages import ProxyCall

from actors.runtime import LoopActor, LoopRuntime
from mykerio.accounts.context import Client, Links
from mykerio.appliances.roster import ApplianceRoster
from mykerio.appliances.view import ApplianceView
from mykerio.clock import Clock
from mykerio.errors import Conflict, Forbidden, NotFound
from mykerio.mail import templates
from mykerio.mail.message import Email
from mykerio.models import (
    ActivityEvent,
    Appliance,
    Invitation,
    Membership,
    Organization,
    StatusChange,
    User,
    email_key,
    new_id,
)
from mykerio.organizations.founding import ensure_name_free
from mykerio.organizations.invitations import InvitationDesk, invitation_view
from mykerio.organizations.rules import (
    DeletionSummary,
    InvitationView,
    MemberView,
    OrganizationView,
    clean_org_name,
)
from mykerio.store.base import Store

SendMail = Callable[[Email], Awaitable[Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class OrgEvent:
    """Something members' open dashboards (and waiting appliance sockets) must react to."""

    # "member_removed", "organization_deleted", "organization_renamed", "appliance_added",
    # "appliance_changed", "appliance_removed"
    kind: str
    org_id: str
    user_ids: tuple[str, ...] = ()
    appliance: ApplianceView | None = None
    public_key: bytes = b""


Publish = Callable[[OrgEvent], None]


class OrganizationActor(LoopActor):
    """Membership, invitations and the activity log of one organization."""

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
        publish: Publish,
        find_appliance: Callable[[str], ActorRef[Any] | None] = lambda _id: None,
    ) -> None:
        super().__init__(runtime=runtime, name=name or f"org:{org_id}")
        self._find_appliance = find_appliance
        self._roster: dict[str, ApplianceView] = {}
        self._appliances = ApplianceRoster(store, clock)
        self._invitations = InvitationDesk(store, clock, links)
        self.org_id = org_id
        self._store = store
        self._clock = clock
        self._links = links
        self._send_mail = send_mail
        self._publish = publish
        self._org: Organization | None = None
        self._members: dict[str, Membership] = {}

    async def on_start(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
        """Load the organization and its members."""
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

    def _require_member(self, user: User) -> Organization:
        if self._org is None or user.id not in self._members:
            # Not a member and not there at all answer the same, so ids reveal nothing.
            raise NotFound(f"organization {self.org_id}")
        return self._org

    def is_member(self, user_id: str) -> bool:
        """Whether `user_id` belongs to this (existing) organization."""
        return self._org is not None and user_id in self._members

    def member_ids(self) -> tuple[str, ...]:
        """Members' user ids (for other actors that fan out to members)."""
        return tuple(self._members)

    async def view(self, user: User) -> OrganizationView:
        """Name, members and pending invitations, for a member."""
        org = self._require_member(user)
        members = []
        for membership in self._members.values():
            person = await self._store.users.by_id(membership.user_id)
            if person is not None:
                members.append(
                    MemberView(
                        person.id, person.email, person.full_name, membership.joined_at.isoformat()
                    )
                )
        return OrganizationView(
            org.id,
            org.name,
            org.created_at.isoformat(),
            tuple(sorted(members, key=lambda m: m.email)),
            await self._invitations.listed(self.org_id),
        )

    async def rename(self, user: User, name: str, client: Client) -> Organization:
        """Give the organization a new name."""
        org = self._require_member(user)
        clean = clean_org_name(name)
        await ensure_name_free(self._store, user.id, clean, except_org=org.id)
        for member_id in self._members:
            if member_id != user.id:
                await ensure_name_free(
                    self._store, member_id, clean, except_org=org.id, whose="Another member"
                )
        self._org = await self._store.organizations.rename(org.id, clean)
        for appliance_id in self._roster:
            ref = self._find_appliance(appliance_id)
            if ref is not None:  # an offline one hears the name in its next `welcome`
                ref.tell(ProxyCall(attr_path=("organization_renamed",), args=(clean,), kwargs={}))
        await self._record(user, client, "organization_renamed", org.name, f"to {clean}")
        self._publish(OrgEvent("organization_renamed", org.id, tuple(self._members)))
        return self._org

    async def deletion_summary(self, user: User) -> DeletionSummary:
        """What deleting would remove, for the confirmation dialog."""
        self._require_member(user)
        pending = await self._store.invitations.pending(self.org_id, self._clock.now())
        return DeletionSummary(
            members=len(self._members), invitations=len(pending), appliances=len(self._roster)
        )

    async def delete(self, user: User, client: Client) -> DeletionSummary:
        """Delete the organization with its memberships and invitations; the actor then stops."""
        org = self._require_member(user)
        summary = await self.deletion_summary(user)
        members = tuple(self._members)
        await self._record(user, client, "organization_deleted", org.name, "")
        await self._store.invitations.delete_for_org(org.id)
        await self._store.appliances.remove_for_org(org.id)
        for appliance_id in list(self._roster):
            ref = self._find_appliance(appliance_id)
            if ref is not None:
                ref.tell(ProxyCall(attr_path=("remove",), args=(), kwargs={}))
        self._roster.clear()
        await self._store.organizations.delete(org.id)
        self._org, self._members = None, {}
        self._publish(OrgEvent("organization_deleted", org.id, members))
        for member_id in members:
            member = await self._store.users.by_id(member_id)
            if member is not None and member.id != user.id:
                # Sent whatever the person's notification choice: it concerns their access.
                await self._send_mail(
                    templates.removed_from(
                        member.email, member.full_name, org.name, user.full_name, deleted=True
                    )
                )
        self.stop()
        return summary

    async def leave(self, user: User, client: Client) -> None:
        """Leave the organization; the last member must delete it instead."""
        org = self._require_member(user)
        if len(self._members) == 1:
            raise Conflict(
                f"You are the last member of {org.name}, so you cannot leave it. "
                "Delete the organization instead."
            )
        await self._store.organizations.remove_member(org.id, user.id)
        self._members.pop(user.id, None)
        await self._record(user, client, "member_left", user.email, "")
        self._publish(OrgEvent("member_removed", org.id, (user.id,)))

    async def invite(self, user: User, email: str, client: Client) -> InvitationView:
        """Invite an address; it gets an email with an "Accept invitation" link valid 7 days."""
        org = self._require_member(user)
        invitation, message = await self._invitations.create(org, user, email, set(self._members))
        if message is not None:
            await self._send_mail(message)
        await self._record(user, client, "member_invited", invitation.email, "")
        return invitation_view(invitation, user.email)

    async def resend(self, user: User, invitation_id: str, client: Client) -> InvitationView:
        """Send the invitation again; its 7 days start over."""
        org = self._require_member(user)
        invitation, message = await self._invitations.renew(org, user, invitation_id)
        if message is not None:
            await self._send_mail(message)
        await self._record(user, client, "invitation_resent", invitation.email, "")
        return invitation_view(invitation, user.email)

    async def revoke(self, user: User, invitation_id: str, client: Client) -> None:
        """Withdraw the invitation: every link sent for it stops working."""
        self._require_member(user)
        invitation = await self._invitations.pending(self.org_id, invitation_id)
        if await self._store.invitations.delete(invitation.id):
            await self._record(user, client, "invitation_revoked", invitation.email, "")

    async def preview(self, invitation_id: str) -> tuple[str, str, str]:
        """(invited address, organization name, inviter's name) of a valid invitation.

        Needs no membership: holding the invitation's link is the permission.
        """
        invitation = await self._valid_invitation(invitation_id)
        inviter = await self._store.users.by_id(invitation.invited_by)
        assert self._org is not None
        return invitation.email, self._org.name, inviter.full_name if inviter else "Someone"

    async def accept(self, user: User, invitation_id: str, client: Client) -> Organization:
        """Join through an invitation sent to the user's own address."""
        invitation = await self._valid_invitation(invitation_id)
        if email_key(invitation.email) != email_key(user.email):
            raise Forbidden(
                f"This invitation was sent to {invitation.email}. Log in with that address to "
                "accept it."
            )
        if user.id not in self._members:
            assert self._org is not None
            await ensure_name_free(
                self._store,
                user.id,
                self._org.name,
                hint="Rename yours on the Organizations page, then open this link again.",
            )
        if not await self._store.invitations.delete(invitation.id):
            raise NotFound("This invitation is no longer valid.")
        if user.id not in self._members:
            membership = await self._store.organizations.add_member(
                self.org_id, user.id, self._clock.now()
            )
            self._members[user.id] = membership
        await self._record(user, client, "invitation_accepted", user.email, "")
        assert self._org is not None  # checked above; one message at a time, so still set
        return self._org

    async def remove(self, user: User, member_id: str, client: Client) -> None:
        """Remove another member; they are emailed and lose access at once."""
        org = self._require_member(user)
        if member_id == user.id:
            await self.leave(user, client)
            return
        if member_id not in self._members:
            raise NotFound(f"member {member_id}")
        await self._store.organizations.remove_member(org.id, member_id)
        self._members.pop(member_id, None)
        removed = await self._store.users.by_id(member_id)
        self._publish(OrgEvent("member_removed", org.id, (member_id,)))
        if removed is not None:
            # Sent whatever the person's notification choice: it concerns their access.
            await self._send_mail(
                templates.removed_from(removed.email, removed.full_name, org.name, user.full_name)
            )
        await self._record(
            user, client, "member_removed", removed.email if removed else member_id, ""
        )

    async def activity(
        self,
        user: User,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        before: tuple[datetime, str] | None,
    ) -> list[ActivityEvent]:
        """The organization's activity log, newest first, for a member."""
        self._require_member(user)
        return await self._store.activity.query(
            org_id=self.org_id, action=action, since=since, until=until, limit=limit, before=before
        )

    def appliances(self, user: User) -> list[ApplianceView]:
        """The organization's appliances, by name."""
        self._require_member(user)
        return sorted(self._roster.values(), key=lambda a: (a.name.casefold(), a.id))

    async def add_appliance(
        self, user: User, code: str, name: str, client: Client
    ) -> ApplianceView:
        """Add the appliance of a pairing code; its waiting socket is told to welcome it."""
        org = self._require_member(user)
        appliance = await self._appliances.add_by_code(org.id, code, name, user.id)
        return await self._added(user, client, appliance, appliance.product)

    def require_member(self, user: User) -> None:
        """`NotFound` unless `user` is a member (asked before credentials go to a box)."""
        self._require_member(user)

    async def add_box(
        self,
        user: User,
        serial: str,
        public_key: bytes,
        facts: tuple[str, str, str],
        name: str,
        client: Client,
    ) -> ApplianceView:
        """Reserve a Kerio Control box set up by serial (`facts`: product, version, IP)."""
        org = self._require_member(user)
        product, version, ip = facts
        appliance = await self._appliances.add_box(
            org.id,
            serial=serial,
            public_key=public_key,
            product=product,
            version=version,
            ip=ip,
            name=name,
        )
        return await self._added(user, client, appliance, f"{product} {serial}")

    async def _added(
        self, user: User, client: Client, appliance: Appliance, detail: str
    ) -> ApplianceView:
        """Roster, activity log and live event of a newly added appliance (its waiting
        socket, if any, is welcomed by the hub on the event)."""
        view = ApplianceView.of(appliance)
        self._roster[view.id] = view
        await self._record(user, client, "appliance_added", view.name, detail)
        self._publish(
            OrgEvent(
                "appliance_added",
                self.org_id,
                tuple(self._members),
                view,
                appliance.public_key or b"",
            )
        )
        return view

    async def rename_appliance(
        self, user: User, appliance_id: str, name: str, client: Client
    ) -> ApplianceView:
        """Rename an appliance here and on the appliance itself."""
        self._require_appliance(user, appliance_id)
        view = ApplianceView.of(await self._appliances.rename(appliance_id, name))
        self._roster[view.id] = view
        ref = self._find_appliance(appliance_id)
        if ref is not None:
            ref.tell(ProxyCall(attr_path=("rename",), args=(view.name,), kwargs={}))
        await self._record(user, client, "appliance_renamed", view.name, "")
        self._publish(OrgEvent("appliance_changed", self.org_id, tuple(self._members), view))
        return view

    async def remove_appliance(self, user: User, appliance_id: str, client: Client) -> None:
        """Remove an appliance: its key is revoked and its socket closed."""
        view = self._require_appliance(user, appliance_id)
        await self._forget(appliance_id)
        ref = self._find_appliance(appliance_id)
        if ref is not None:
            ref.tell(ProxyCall(attr_path=("remove",), args=(), kwargs={}))
        await self._record(user, client, "appliance_removed", view.name, "")

    async def appliance_history(
        self, user: User, appliance_id: str, limit: int, before: tuple[datetime, str] | None
    ) -> list[StatusChange]:
        """An appliance's status changes, newest first, for a member."""
        self._require_appliance(user, appliance_id)
        return await self._store.status_history.for_appliance(
            appliance_id, limit=limit, before=before
        )

    async def removed_by_appliance(self, appliance_id: str) -> None:
        """The appliance's own "Remove from MyKerio" (told by its actor)."""
        if appliance_id in self._roster:
            await self._forget(appliance_id)

    def appliance_changed(self, view: ApplianceView) -> None:
        """An appliance actor reports a new status (told upward; never asked)."""
        if view.id not in self._roster:
            return
        self._roster[view.id] = view
        self._publish(OrgEvent("appliance_changed", self.org_id, tuple(self._members), view))

    async def appliance_connection_replaced(
        self, appliance_id: str, older_ip: str, newer_ip: str
    ) -> None:
        """A second socket with an appliance's key replaced its first (told by the hub): the
        activity log records it with both addresses (by the appliance, not by a member)."""
        view = self._roster.get(appliance_id)
        if view is None:
            return
        older = older_ip or "an unknown address"
        await self._store.activity.add(
            ActivityEvent(
                id=new_id(),
                org_id=self.org_id,
                actor_id="",
                actor_email="",
                at=self._clock.now(),
                ip=newer_ip,
                action="appliance_connection_replaced",
                target=view.name,
                detail=f"the connection from {older} was replaced by one from {newer_ip}",
            )
        )

    def _require_appliance(self, user: User, appliance_id: str) -> ApplianceView:
        self._require_member(user)
        view = self._roster.get(appliance_id)
        if view is None:
            raise NotFound(f"appliance {appliance_id}")
        return view

    async def _forget(self, appliance_id: str) -> None:
        await self._appliances.remove(appliance_id)
        view = self._roster.pop(appliance_id)
        self._publish(OrgEvent("appliance_removed", self.org_id, tuple(self._members), view))

    async def _valid_invitation(self, invitation_id: str) -> Invitation:
        if self._org is None:
            raise NotFound("This invitation is no longer valid.")
        try:
            return await self._invitations.pending(self.org_id, invitation_id)
        except NotFound:
            raise NotFound("This invitation is no longer valid.") from None

    async def _record(
        self, user: User, client: Client, action: str, target: str, detail: str
    ) -> None:
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
