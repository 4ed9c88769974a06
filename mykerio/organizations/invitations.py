"""Invitations: creating, resending and finding them, and the emails that carry their links.

Each sending carries a fresh random token; only hashes are stored, and deleting the invitation
(on accept or revoke) makes every link ever sent for it fail at once.
"""

from __future__ import annotations

from datetime import datetime

from mykerio.accounts.context import Links
from mykerio.accounts.validation import FieldError, clean_email
from mykerio.clock import Clock
from mykerio.errors import Conflict, NotFound
from mykerio.mail import templates
from mykerio.mail.limits import MailLimits
from mykerio.mail.message import Email
from mykerio.models import Invitation, Organization, User, new_id
from mykerio.organizations.rules import INVITATION_VALID, InvitationView
from mykerio.security.tokens import new_token, token_hash
from mykerio.store.base import Store


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def invitation_view(invitation: Invitation, inviter_email: str) -> InvitationView:
    """How the member list shows a pending invitation."""
    return InvitationView(
        invitation.id, invitation.email, inviter_email, invitation.expires_at.isoformat()
    )


class InvitationDesk:
    """The store and mail side of one organization's invitations."""

    def __init__(self, store: Store, clock: Clock, links: Links) -> None:
        self._store = store
        self._clock = clock
        self._links = links
        self._mail_limits = MailLimits(store, clock)

    async def create(
        self, org: Organization, inviter: User, email: str, member_ids: set[str]
    ) -> tuple[Invitation, Email | None]:
        """A new invitation for `email` and the email that sends its link (None past the
        address's mail limit: the invitation is still made, as its answer says)."""
        address = clean_email(email)
        invitee = await self._store.users.by_email(address)
        if invitee is not None and invitee.id in member_ids:
            raise FieldError("email", f"{address} is already a member of {org.name}.")
        now = self._clock.now()
        token = new_token()
        invitation = Invitation(
            id=new_id(),
            org_id=org.id,
            email=address,
            invited_by=inviter.id,
            created_at=now,
            expires_at=now + INVITATION_VALID,
        )
        try:
            invitation = await self._store.invitations.add(invitation, token_hash(token))
        except Conflict:
            raise FieldError(
                "email",
                f"{address} is already invited to {org.name}. Resend the invitation instead.",
            ) from None
        if not await self._mail_limits.allow("invitation", address):
            return invitation, None
        return invitation, self._email(inviter, org, invitation, token)

    async def renew(
        self, org: Organization, inviter: User, invitation_id: str
    ) -> tuple[Invitation, Email | None]:
        """Send a pending invitation again with a new link; its 7 days start over.

        Past the address's mail limit nothing changes and no email is made (None): the link
        already sent keeps working.
        """
        invitation = await self.pending(org.id, invitation_id)
        if not await self._mail_limits.allow("invitation", invitation.email):
            return invitation, None
        token = new_token()
        invitation = await self._store.invitations.renew(
            invitation.id, token_hash(token), self._clock.now() + INVITATION_VALID
        )
        return invitation, self._email(inviter, org, invitation, token)

    async def pending(self, org_id: str, invitation_id: str) -> Invitation:
        """A still-valid invitation of `org_id`; `NotFound` otherwise."""
        invitation = await self._store.invitations.by_id(invitation_id)
        if (
            invitation is None
            or invitation.org_id != org_id
            or invitation.expires_at <= self._clock.now()
        ):
            raise NotFound(f"invitation {invitation_id}")
        return invitation

    async def listed(self, org_id: str) -> tuple[InvitationView, ...]:
        """Every pending invitation of the organization, oldest first."""
        views = []
        for invitation in await self._store.invitations.pending(org_id, self._clock.now()):
            inviter = await self._store.users.by_id(invitation.invited_by)
            views.append(invitation_view(invitation, inviter.email if inviter else ""))
        return tuple(views)

    def _email(self, inviter: User, org: Organization, invitation: Invitation, token: str) -> Email:
        return templates.invitation(
            invitation.email,
            inviter.full_name,
            org.name,
            self._links.accept_invitation(token),
            _when(invitation.expires_at),
        )
