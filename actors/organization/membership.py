"""The membership part of an organization's actor: its name, members and invitations."""

from __future__ import annotations

from actors.appliance import ApplianceActor
from actors.organization.core import OrganizationCore
from mykerio.accounts.context import Client
from mykerio.errors import Conflict, Forbidden, NotFound
from mykerio.mail import templates
from mykerio.models import Invitation, Organization, User, email_key
from mykerio.organizations.events import MemberRemoved, OrganizationDeleted, OrganizationRenamed
from mykerio.organizations.founding import ensure_name_free
from mykerio.organizations.invitations import invitation_view
from mykerio.organizations.rules import (
    DeletionSummary,
    InvitationView,
    MemberView,
    OrganizationView,
    clean_org_name,
)


class MembershipPart(OrganizationCore):
    """Who belongs to the organization, who is invited, and what it is called."""

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
            appliance = self._find_appliance(appliance_id)
            if appliance is not None:  # an offline one hears the name in its next `welcome`
                appliance.tell(ApplianceActor.organization_renamed, clean)
        await self._record(user, client, "organization_renamed", org.name, f"to {clean}")
        self._bus.publish(OrganizationRenamed(org.id, tuple(self._members), clean))
        return self._org

    async def deletion_summary(self, user: User) -> DeletionSummary:
        """What deleting would remove, for the confirmation dialog."""
        self._require_member(user)
        pending = await self._store.invitations.pending(self.org_id, self._clock.now())
        backups = await self._store.backups.of_organization(self.org_id)
        return DeletionSummary(
            members=len(self._members),
            invitations=len(pending),
            appliances=len(self._roster),
            backups=len(backups),
        )

    async def delete(self, user: User, client: Client) -> DeletionSummary:
        """Delete the organization with its memberships and invitations; the actor then stops."""
        org = self._require_member(user)
        summary = await self.deletion_summary(user)
        members = tuple(self._members)
        await self._record(user, client, "organization_deleted", org.name, "")
        await self._store.invitations.delete_for_org(org.id)
        await self._store.definitions.delete_organization(org.id)
        await self._store.appliances.remove_for_org(org.id)
        # Its backups go with it (the dialog says so): no one could reach them any more, and
        # they hold the appliances' private keys.
        for backup in await self._store.backups.of_organization(org.id):
            await self._store.backups.delete(backup.id)
        for appliance_id in list(self._roster):
            appliance = self._find_appliance(appliance_id)
            if appliance is not None:
                appliance.tell(ApplianceActor.remove)
        self._roster.clear()
        await self._store.organizations.delete(org.id)
        self._org, self._members = None, {}
        self._bus.publish(OrganizationDeleted(org.id, members))
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
        self._bus.publish(MemberRemoved(org.id, (user.id,)))

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
        self._bus.publish(MemberRemoved(org.id, (member_id,)))
        if removed is not None:
            # Sent whatever the person's notification choice: it concerns their access.
            await self._send_mail(
                templates.removed_from(removed.email, removed.full_name, org.name, user.full_name)
            )
        await self._record(
            user, client, "member_removed", removed.email if removed else member_id, ""
        )

    async def _valid_invitation(self, invitation_id: str) -> Invitation:
        if self._org is None:
            raise NotFound("This invitation is no longer valid.")
        try:
            return await self._invitations.pending(self.org_id, invitation_id)
        except NotFound:
            raise NotFound("This invitation is no longer valid.") from None
