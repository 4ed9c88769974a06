"""Bodies of notifications: an organization's grace before "offline", the appliances'
notifications, preferences and maintenance windows."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

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
