"""Rules of organizations that need no store: valid names, invitation lifetime, activity names."""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import timedelta

from mykerio.accounts.validation import FieldError

INVITATION_VALID = timedelta(days=7)
MAX_NAME = 100

# Every administrative action the activity log records.
ACTION_LABELS = {
    "organization_created": "Organization created",
    "organization_renamed": "Organization renamed",
    "organization_deleted": "Organization deleted",
    "member_invited": "Member invited",
    "invitation_resent": "Invitation resent",
    "invitation_revoked": "Invitation revoked",
    "invitation_accepted": "Invitation accepted",
    "member_removed": "Member removed",
    "member_left": "Member left",
    "appliance_added": "Appliance added",
    "appliance_renamed": "Appliance renamed",
    "appliance_removed": "Appliance removed",
    # A second socket of its key replaced the first (recorded by the hub, not by a member).
    "appliance_connection_replaced": "Appliance connection replaced",
    # Shared definitions (IP address groups, URL groups, time ranges).
    "definition_group_created": "Shared group created",
    "definition_group_renamed": "Shared group renamed",
    "definition_group_deleted": "Shared group deleted",
    "definition_changed": "Shared group changed",
    "definitions_reverted": "Shared definitions reverted",
    "definitions_imported": "Shared definitions imported",
    "backup_downloaded": "Backup downloaded",
    "backup_deleted": "Backup deleted",
    "backup_requested": "Backup requested",
    "backups_compared": "Backups compared",
    "backup_settings_changed": "Backup settings changed",
    "administration_opened": "Administration opened",
}
"""Each kind of activity-log entry and the words the dashboard shows for it (and filters by)."""

ACTIONS = tuple(ACTION_LABELS)


def clean_org_name(text: str) -> str:
    """A trimmed organization name of 1 to 100 printable characters, or `FieldError`."""
    name = " ".join(text.split())
    if not name:
        raise FieldError("name", "Enter a name for the organization.")
    if len(name) > MAX_NAME:
        raise FieldError("name", f"A name can have at most {MAX_NAME} characters.")
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise FieldError("name", "A name cannot contain control characters.")
    return name


@dataclasses.dataclass(frozen=True, slots=True)
class MemberView:
    """One member as the member list shows them."""

    user_id: str
    email: str
    full_name: str
    joined_at: str


@dataclasses.dataclass(frozen=True, slots=True)
class InvitationView:
    """One pending invitation as the member list shows it."""

    id: str
    email: str
    invited_by: str
    expires_at: str


@dataclasses.dataclass(frozen=True, slots=True)
class OrganizationView:
    """An organization as one of its members sees it."""

    id: str
    name: str
    created_at: str
    members: tuple[MemberView, ...]
    invitations: tuple[InvitationView, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class DeletionSummary:
    """What deleting an organization removes (and the confirmation dialog lists)."""

    members: int
    invitations: int
    appliances: int
    backups: int = 0  # configuration backups, deleted with it (removed appliances' too)
