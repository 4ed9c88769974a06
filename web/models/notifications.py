"""Bodies of notifications: an organization's grace before "offline"."""

from __future__ import annotations

from pydantic import Field

from web.models.base import RequestModel, ResponseModel


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
