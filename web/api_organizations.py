"""API: organizations, their members and invitations, the activity log, the org switcher."""

from __future__ import annotations

from actors.accounts import AccountsActor
from actors.organization import OrganizationActor
from mykerio.errors import InvalidInput, NotFound, Unauthorized
from mykerio.models import ActivityEvent, email_key
from mykerio.organizations.rules import ACTIONS, DeletionSummary, InvitationView, OrganizationView
from web.models import organizations as models
from web.models.accounts import TokenRequest
from web.models.organizations import InviteRequest, NameRequest, SelectRequest
from web.openapi import Answer, Operation
from web.orgs import OrgHandler
from web.paging import decode_cursor, lookahead, page_limit, page_of, when

TAG = "organizations"
NOT_MEMBER = "No such organization, or you are not a member"


class OrganizationsHandler(OrgHandler):
    """Lists the user's organizations and creates new ones."""

    openapi = {
        "get": Operation(
            "Your organizations, by name, and which one is selected",
            TAG,
            {200: Answer("List", models.Organizations)},
            {401: "Not logged in"},
        ),
        "post": Operation(
            "Create an organization; you are its first member",
            TAG,
            {201: Answer("Created", models.OrganizationSummary)},
            {400: "Invalid name", 401: "Not logged in"},
            body=NameRequest,
        ),
    }

    async def get(self) -> None:
        """List."""
        current = await self.current_session()
        orgs = await self.call(current.user.id, AccountsActor.my_organizations, current.user)
        selected = current.user.default_org_id
        if selected not in {org.id for org in orgs}:
            selected = orgs[0].id if orgs else ""
        self.write_model(
            models.Organizations(
                organizations=[models.OrganizationSummary.model_validate(o) for o in orgs],
                selected=selected,
            )
        )

    async def post(self) -> None:
        """Create."""
        current = await self.current_session()
        name = self.body(NameRequest).name
        org = await self.call(
            current.user.id, AccountsActor.create_organization, current.user, name, self.client
        )
        self.write_model(models.OrganizationSummary.model_validate(org), 201)


class OrganizationHandler(OrgHandler):
    """One organization: view, rename, delete."""

    openapi = {
        "get": Operation(
            "An organization with its members and pending invitations",
            TAG,
            {200: Answer("Organization", models.Organization)},
            {404: NOT_MEMBER},
        ),
        "patch": Operation(
            "Rename an organization",
            TAG,
            {200: Answer("Renamed", models.OrganizationSummary)},
            {404: NOT_MEMBER},
            body=NameRequest,
        ),
        "delete": Operation(
            "Delete an organization, even with members and appliances: memberships, invitations "
            "and appliance links go; user accounts and backups stay",
            TAG,
            {200: Answer("Deleted; what was removed", models.Deleted)},
            {404: NOT_MEMBER},
        ),
    }

    async def get(self, org_id: str) -> None:
        """View."""
        view: OrganizationView = await self.org_call(org_id, OrganizationActor.view)
        self.write_model(models.Organization.model_validate(view))

    async def patch(self, org_id: str) -> None:
        """Rename."""
        name = self.body(NameRequest).name
        org = await self.org_call(org_id, OrganizationActor.rename, name, self.client)
        self.write_model(models.OrganizationSummary.model_validate(org))

    async def delete(self, org_id: str) -> None:
        """Delete."""
        summary: DeletionSummary = await self.org_call(
            org_id, OrganizationActor.delete, self.client
        )
        removed = models.DeletionSummary.model_validate(summary)
        self.write_model(models.Deleted(deleted=org_id, removed=removed))


class DeletionSummaryHandler(OrgHandler):
    """What deleting an organization would remove."""

    openapi = {
        "get": Operation(
            "What deleting the organization would remove",
            TAG,
            {200: Answer("Counts", models.DeletionSummary)},
        )
    }

    async def get(self, org_id: str) -> None:
        """Counts for the confirmation dialog."""
        summary: DeletionSummary = await self.org_call(org_id, OrganizationActor.deletion_summary)
        self.write_model(models.DeletionSummary.model_validate(summary))


class LeaveHandler(OrgHandler):
    """Leaves an organization."""

    openapi = {
        "post": Operation(
            "Leave an organization; refused for its last member (delete it instead)",
            TAG,
            {204: Answer("Left")},
            {409: "Last member"},
        )
    }

    async def post(self, org_id: str) -> None:
        """Leave."""
        await self.org_call(org_id, OrganizationActor.leave, self.client)
        self.set_status(204)
        self.finish()


class InvitationsHandler(OrgHandler):
    """Invites someone by email."""

    openapi = {
        "post": Operation(
            "Invite by email: an 'Accept invitation' link valid 7 days",
            TAG,
            {201: Answer("Invited", models.Invitation)},
            {400: "Invalid, already a member or already invited"},
            body=InviteRequest,
        )
    }

    async def post(self, org_id: str) -> None:
        """Invite."""
        email = self.body(InviteRequest).email
        view: InvitationView = await self.org_call(
            org_id, OrganizationActor.invite, email, self.client
        )
        self.write_model(models.Invitation.model_validate(view), 201)


class InvitationHandler(OrgHandler):
    """Revokes a pending invitation."""

    openapi = {
        "delete": Operation(
            "Revoke an invitation: every link sent for it stops working",
            TAG,
            {204: Answer("Revoked")},
        )
    }

    async def delete(self, org_id: str, invitation_id: str) -> None:
        """Revoke."""
        await self.org_call(org_id, OrganizationActor.revoke, invitation_id, self.client)
        self.set_status(204)
        self.finish()


class ResendInvitationHandler(OrgHandler):
    """Sends an invitation again."""

    openapi = {
        "post": Operation(
            "Send an invitation again; its 7 days start over",
            TAG,
            {200: Answer("Sent", models.Invitation)},
        )
    }

    async def post(self, org_id: str, invitation_id: str) -> None:
        """Resend."""
        view: InvitationView = await self.org_call(
            org_id, OrganizationActor.resend, invitation_id, self.client
        )
        self.write_model(models.Invitation.model_validate(view))


class MemberHandler(OrgHandler):
    """Removes a member."""

    openapi = {
        "delete": Operation(
            "Remove a member: they are emailed and lose access at once",
            TAG,
            {204: Answer("Removed")},
        )
    }

    async def delete(self, org_id: str, user_id: str) -> None:
        """Remove."""
        await self.org_call(org_id, OrganizationActor.remove, user_id, self.client)
        self.set_status(204)
        self.finish()


class ActivityHandler(OrgHandler):
    """The organization's activity log."""

    openapi = {
        "get": Operation(
            "Administrative actions in the organization, newest first; filter by action and "
            "date range (since, until), page with limit and next_cursor",
            TAG,
            {200: Answer("A page of events", models.ActivityPage)},
            query=models.ActivityQuery,
        )
    }

    async def get(self, org_id: str) -> None:
        """One page."""
        action = self.get_query_argument("action", "")
        if action and action not in ACTIONS:
            raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}")
        limit = page_limit(self.get_query_argument("limit", ""))
        cursor = decode_cursor(self.get_query_argument("cursor", ""))
        found: list[ActivityEvent] = await self.org_call(
            org_id,
            OrganizationActor.activity,
            action or None,
            when(self.get_query_argument("since", ""), "since"),
            when(self.get_query_argument("until", ""), "until"),
            lookahead(limit),
            cursor,
        )
        events, next_page = page_of(found, limit)
        self.write_model(
            models.ActivityPage(
                events=[
                    models.ActivityEvent(
                        id=e.id,
                        at=e.at,
                        action=e.action,
                        actor=e.actor_email,
                        ip=e.ip,
                        target=e.target,
                        detail=e.detail,
                    )
                    for e in events
                ],
                next_cursor=next_page,
            )
        )


class AcceptInvitationHandler(OrgHandler):
    """Accepts an invitation as the logged-in user."""

    openapi = {
        "post": Operation(
            "Accept an invitation with its link's token; you must be logged in with the invited "
            "address",
            TAG,
            {200: Answer("Joined", models.OrganizationSummary)},
            {
                401: "Not logged in",
                403: "Logged in with another address",
                404: "No longer valid",
            },
            body=TokenRequest,
        )
    }

    async def post(self) -> None:
        """Accept."""
        current = await self.current_session()
        token = self.body(TokenRequest).token
        invitation = await self.call(token, AccountsActor.find_invitation, token)
        if invitation is None:
            raise NotFound("This invitation is no longer valid. Ask for a new one.")
        org = await self.org_call(
            invitation.org_id, OrganizationActor.accept, invitation.id, self.client
        )
        await self.call(current.user.id, AccountsActor.set_default_org, current.user, org.id)
        self.write_model(models.OrganizationSummary.model_validate(org))


class InvitationPreviewHandler(OrgHandler):
    """Tells the invitation page what an invitation link is for."""

    openapi = {
        "post": Operation(
            "Who was invited to which organization by an invitation link's token (no login "
            "needed: the token is the permission); with a session, also whether it was sent to "
            "the logged-in account's address (`for_this_account`, else null)",
            TAG,
            {200: Answer("The invitation", models.InvitationPreview)},
            {404: "No longer valid"},
            body=TokenRequest,
        )
    }

    async def post(self) -> None:
        """Look the invitation up."""
        token = self.body(TokenRequest).token
        invitation = await self.call(token or "-", AccountsActor.find_invitation, token)
        if invitation is None:
            raise NotFound("This invitation is no longer valid. Ask for a new one.")
        organization_actor = self.router.organization(invitation.org_id)
        email, organization, inviter = await organization_actor.call(
            OrganizationActor.preview, invitation.id
        )
        try:
            current = await self.current_session()
        except Unauthorized:  # logged out (or expired): the page offers to log in
            current = None
        self.write_model(
            models.InvitationPreview(
                email=email,
                organization=organization,
                invited_by=inviter,
                logged_in_as=current.user.email if current else None,
                for_this_account=(
                    email_key(current.user.email) == email_key(email) if current else None
                ),
            )
        )


class SelectedOrganizationHandler(OrgHandler):
    """The header's organization switcher."""

    openapi = {
        "put": Operation(
            "Select the organization the dashboard shows; remembered per user",
            TAG,
            {204: Answer("Selected")},
            {401: "Not logged in", 404: "Not a member"},
            body=SelectRequest,
        )
    }

    async def put(self) -> None:
        """Select."""
        current = await self.current_session()
        org_id = self.body(SelectRequest).org_id
        await self.org_call(org_id, OrganizationActor.view)  # membership check: 404 for anyone else
        await self.call(current.user.id, AccountsActor.set_default_org, current.user, org_id)
        self.set_status(204)
        self.finish()
