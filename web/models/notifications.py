"""Bodies of notifications: an organization's grace before "offline", the appliances'
notifications, preferences and maintenance windows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BeforeValidator, Field, WithJsonSchema

from web.models.appliances import Appliance
from web.models.base import RequestModel, ResponseModel, Timestamp


class OrgNotificationsAnswer(ResponseModel):
    """An organization's online/offline email settings."""

    grace_minutes: float = Field(
        description='Minutes an appliance may be offline before "offline" is announced'
    )
    default_grace_minutes: float = Field(description="The hub's default for organizations")
    batch_minutes: float = Field(description="Changes within this window make one email")


class OrgNotificationsRequest(RequestModel):
    """Set the organization's grace before "offline" (0 to 30 minutes)."""

    grace_minutes: float = Field(ge=0, le=30)


class ApplianceNotificationEntry(ResponseModel):
    """One notification an appliance reported and has not cleared."""

    id: str
    appliance_id: str
    type: Literal[
        "update_available",
        "low_memory",
        "mapped_domain_problem",
        "maintenance_expiry",
        "licence_expiry",
        "backup_line_active",
        "certificate_expiry",
        "backup_failed",
    ]
    title: str = Field(description='The type in words, e.g. "Low memory"')
    severity: Literal["warning", "error"]
    text: str
    raised_at: Timestamp = Field(description="When it arose (the appliance's clock)")
    dismissed: bool = Field(description="The caller dismissed it for themselves")


class ApplianceNotificationsList(ResponseModel):
    """The organization's appliance notifications, oldest first."""

    notifications: list[ApplianceNotificationEntry]


Threshold = Literal["off", "warning", "error"]


class ChoiceEntry(ResponseModel):
    """A member's choice for the organization (`appliance_id` empty) or one appliance."""

    appliance_id: str = Field(description='"": the whole organization')
    status_email: bool = Field(description="Online/offline changes by email")
    email_from: Threshold = Field(description="Appliance notifications by email from")


class MaintenanceEntry(ResponseModel):
    """An appliance's maintenance window: its alerts are silenced until `until`."""

    appliance_id: str
    until: Timestamp
    active: bool = Field(description="The window has not ended yet")


class PreferencesAnswer(ResponseModel):
    """The caller's notification choices in an organization, and its maintenance windows."""

    choices: list[ChoiceEntry] = Field(description="The organization's first, then appliances")
    maintenance: list[MaintenanceEntry]


class ChoiceRequest(RequestModel):
    """Set the caller's choice for the organization (`appliance_id` `""`) or one appliance."""

    appliance_id: str = ""
    status_email: bool
    email_from: Threshold


def _iso_time(value: object) -> object:
    """An ISO 8601 text as a datetime (the models are strict: JSON has no datetime type)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 time with an offset") from None
    return value


# A time with its offset, sent as ISO 8601 text.
IsoTime = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_time),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class MaintenanceRequest(RequestModel):
    """Silence an appliance's alerts until `until` (ISO 8601 with an offset, within 30
    days), or end the window now (`null`)."""

    until: IsoTime | None


class OrganizationStatus(ResponseModel):
    """One organization's appliances and their notifications."""

    id: str
    name: str
    appliances: list[Appliance]
    notifications: list[ApplianceNotificationEntry]


class MyStatus(ResponseModel):
    """Every appliance of all your organizations with its status, and their notifications
    (for the mobile app and scripts)."""

    organizations: list[OrganizationStatus]
