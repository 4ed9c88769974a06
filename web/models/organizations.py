"""Bodies of organizations, their members and invitations, the activity log and the switcher."""

from __future__ import annotations

from pydantic import Field

from mykerio.organizations.rules import ACTIONS
from web.models.audit import DATE
from web.models.base import Page, PageQuery, RequestModel, ResponseModel, Timestamp


class NameRequest(RequestModel):
    """A name (of an organization or an appliance); the domain checks the name rule."""

    name: str


class InviteRequest(RequestModel):
    """Whom to invite."""

    email: str


class SelectRequest(RequestModel):
    """The organization the dashboard shows."""

    org_id: str


class OrganizationSummary(ResponseModel):
    """An organization in lists and after a change."""

    id: str
    name: str
    created_at: Timestamp


class Organizations(ResponseModel):
    """Your organizations, by name, and which one the dashboard shows."""

    organizations: list[OrganizationSummary]
    selected: str = Field(description='The selected organization\'s id; "" if you have none')


class Member(ResponseModel):
    """One member."""

    user_id: str
    email: str
    full_name: str
    joined_at: str = Field(description="ISO 8601")


class Invitation(ResponseModel):
    """One pending invitation."""

    id: str
    email: str
    invited_by: str
    expires_at: str = Field(description="ISO 8601")


class Organization(ResponseModel):
    """An organization with its members and pending invitations."""

    id: str
    name: str
    created_at: str = Field(description="ISO 8601")
    members: list[Member]
    invitations: list[Invitation]


class DeletionSummary(ResponseModel):
    """What deleting the organization removes (or removed)."""

    members: int
    invitations: int
    appliances: int
    backups: int = Field(0, description="Configuration backups, deleted with it")


class Deleted(ResponseModel):
    """The organization is gone."""

    deleted: str = Field(description="Its id")
    removed: DeletionSummary


class ActivityQuery(PageQuery):
    """Filters of the activity log."""

    action: str = Field("", description='"": all', json_schema_extra={"enum": ["", *ACTIONS]})
    since: str = Field("", description=DATE)
    until: str = Field("", description=DATE)


class ActivityEvent(ResponseModel):
    """One administrative action."""

    id: str
    at: Timestamp
    action: str = Field(json_schema_extra={"enum": list(ACTIONS)})
    actor: str = Field(description="The address of who did it")
    ip: str
    target: str
    detail: str


class ActivityPage(Page):
    """A page of the activity log, newest first."""

    events: list[ActivityEvent]


class InvitationPreview(ResponseModel):
    """Who was invited where; with a session, also whether it is for the logged-in account."""

    email: str
    organization: str
    invited_by: str
    logged_in_as: str | None = Field(description="null when logged out")
    for_this_account: bool | None = Field(description="null when logged out")
