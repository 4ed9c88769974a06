"""API: organizations, their members and invitations, the activity log, the org switcher."""

from __future__ import annotations

import dataclasses
from typing import Any

from actors.accounts import AccountsActor
from actors.organization import OrganizationActor
from mykerio.errors import InvalidInput, NotFound, Unauthorized
from mykerio.models import ActivityEvent, Organization, email_key
from mykerio.organizations.rules import ACTIONS, DeletionSummary, InvitationView, OrganizationView
from web.api_accounts import text
from web.openapi import op
from web.orgs import OrgHandler
from web.paging import decode_cursor, lookahead, page_limit, page_of, when

TAG = "organizations"


def org_json(org: Organization) -> dict[str, Any]:
    """An organization in API answers."""
    return {"id": org.id, "name": org.name, "created_at": org.created_at.isoformat()}


class OrganizationsHandler(OrgHandler):
    """Lists the user's organizations and creates new ones."""

    openapi = {
        "get": op("Your organizations, by name, and which one is selected", TAG, {"200": "List"}),
        "post": op(
            "Create an organization; you are its first member",
            TAG,
            {"201": "Created", "400": "Invalid name"},
            body={"name": "string"},
        ),
    }

    async def get(self) -> None:
        """List."""
        current = await self.current_session()
        orgs = await self.call(current.user.id, AccountsActor.my_organizations, current.user)
        selected = current.user.default_org_id
        if selected not in {org.id for org in orgs}:
            selected = orgs[0].id if orgs else ""
        self.write_json({"organizations": [org_json(o) for o in orgs], "selected": selected})

    async def post(self) -> None:
        """Create."""
        current = await self.current_session()
        name = text(self.json_body("name"), "name")
        org = await self.call(
            current.user.id, AccountsActor.create_organization, current.user, name, self.client
        )
        self.write_json(org_json(org), 201)


class OrganizationHandler(OrgHandler):
    """One organization: view, rename, delete."""

    openapi = {
        "get": op(
            "An organization with its members and pending invitations", TAG, {"200": "Organization"}
        ),
        "patch": op("Rename an organization", TAG, {"200": "Renamed"}, body={"name": "string"}),
        "delete": op(
            "Delete an organization, even with members and appliances: memberships, invitations "
            "and appliance links go; user accounts and backups stay",
            TAG,
            {"200": "Deleted; what was removed"},
        ),
    }

    async def get(self, org_id: str) -> None:
        """View."""
        view: OrganizationView = await self.org_call(org_id, OrganizationActor.view)
        self.write_json(dataclasses.asdict(view))

    async def patch(self, org_id: str) -> None:
        """Rename."""
        name = text(self.json_body("name"), "name")
        org = await self.org_call(org_id, OrganizationActor.rename, name, self.client)
        self.write_json(org_json(org))

    async def delete(self, org_id: str) -> None:
        """Delete."""
        summary: DeletionSummary = await self.org_call(
            org_id, OrganizationActor.delete, self.client
        )
        self.write_json({"deleted": org_id, "removed": dataclasses.asdict(summary)})


class DeletionSummaryHandler(OrgHandler):
    """What deleting an organization would remove."""

    openapi = {"get": op("What deleting the organization would remove", TAG, {"200": "Counts"})}

    async def get(self, org_id: str) -> None:
        """Counts for the confirmation dialog."""
        summary: DeletionSummary = await self.org_call(org_id, OrganizationActor.deletion_summary)
        self.write_json(dataclasses.asdict(summary))


class LeaveHandler(OrgHandler):
    """Leaves an organization."""

    openapi = {
        "post": op(
            "Leave an organization; refused for its last member (delete it instead)",
            TAG,
            {"204": "Left", "409": "Last member"},
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
        "post": op(
            "Invite by email: an 'Accept invitation' link valid 7 days",
            TAG,
            {"201": "Invited", "400": "Invalid, already a member or already invited"},
            body={"email": "string"},
        )
    }

    async def post(self, org_id: str) -> None:
        """Invite."""
        email = text(self.json_body("email"), "email")
        view: InvitationView = await self.org_call(
            org_id, OrganizationActor.invite, email, self.client
        )
        self.write_json(dataclasses.asdict(view), 201)


class InvitationHandler(OrgHandler):
    """Revokes a pending invitation."""

    openapi = {
        "delete": op(
            "Revoke an invitation: every link sent for it stops working", TAG, {"204": "Revoked"}
        )
    }

    async def delete(self, org_id: str, invitation_id: str) -> None:
        """Revoke."""
        await self.org_call(org_id, OrganizationActor.revoke, invitation_id, self.client)
        self.set_status(204)
        self.finish()


class ResendInvitationHandler(OrgHandler):
    """Sends an invitation again."""

    openapi = {"post": op("Send an invitation again; its 7 days start over", TAG, {"200": "Sent"})}

    async def post(self, org_id: str, invitation_id: str) -> None:
        """Resend."""
        view: InvitationView = await self.org_call(
            org_id, OrganizationActor.resend, invitation_id, self.client
        )
        self.write_json(dataclasses.asdict(view))


class MemberHandler(OrgHandler):
    """Removes a member."""

    openapi = {
        "delete": op(
            "Remove a member: they are emailed and lose access at once",
            TAG,
            {"204": "Removed"},
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
        "get": op(
            "Administrative actions in the organization, newest first; filter by action and "
            "date range (since, until), page with limit and next_cursor",
            TAG,
            {"200": "A page of events"},
            query={
                "action": "string",
                "since": "string",
                "until": "string",
                "limit": "integer",
                "cursor": "string",
            },
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
        self.write_json(
            {
                "events": [
                    {
                        "id": e.id,
                        "at": e.at.isoformat(),
                        "action": e.action,
                        "actor": e.actor_email,
                        "ip": e.ip,
                        "target": e.target,
                        "detail": e.detail,
                    }
                    for e in events
                ],
                "next_cursor": next_page,
            }
        )


class AcceptInvitationHandler(OrgHandler):
    """Accepts an invitation as the logged-in user."""

    openapi = {
        "post": op(
            "Accept an invitation with its link's token; you must be logged in with the invited "
            "address",
            TAG,
            {"200": "Joined", "403": "Logged in with another address", "404": "No longer valid"},
            body={"token": "string"},
        )
    }

    async def post(self) -> None:
        """Accept."""
        current = await self.current_session()
        token = text(self.json_body("token"), "token")
        invitation = await self.call(token, AccountsActor.find_invitation, token)
        if invitation is None:
            raise NotFound("This invitation is no longer valid. Ask for a new one.")
        org = await self.org_call(
            invitation.org_id, OrganizationActor.accept, invitation.id, self.client
        )
        await self.call(current.user.id, AccountsActor.set_default_org, current.user, org.id)
        self.write_json(org_json(org))


class InvitationPreviewHandler(OrgHandler):
    """Tells the invitation page what an invitation link is for."""

    openapi = {
        "post": op(
            "Who was invited to which organization by an invitation link's token (no login "
            "needed: the token is the permission); with a session, also whether it was sent to "
            "the logged-in account's address (`for_this_account`, else null)",
            TAG,
            {"200": "The invitation", "404": "No longer valid"},
            body={"token": "string"},
        )
    }

    async def post(self) -> None:
        """Look the invitation up."""
        token = text(self.json_body("token"), "token")
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
        self.write_json(
            {
                "email": email,
                "organization": organization,
                "invited_by": inviter,
                "logged_in_as": current.user.email if current else None,
                "for_this_account": (
                    email_key(current.user.email) == email_key(email) if current else None
                ),
            }
        )


class SelectedOrganizationHandler(OrgHandler):
    """The header's organization switcher."""

    openapi = {
        "put": op(
            "Select the organization the dashboard shows; remembered per user",
            TAG,
            {"204": "Selected", "404": "Not a member"},
            body={"org_id": "string"},
        )
    }

    async def put(self) -> None:
        """Select."""
        current = await self.current_session()
        org_id = text(self.json_body("org_id"), "org_id")
        await self.org_call(org_id, OrganizationActor.view)  # membership check: 404 for anyone else
        await self.call(current.user.id, AccountsActor.set_default_org, current.user, org_id)
        self.set_status(204)
        self.finish()
