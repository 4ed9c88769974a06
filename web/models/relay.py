"""Bodies of the notification relay: each appliance's window, refusals and blacklisted
recipients; the operators' whole blacklist."""

from __future__ import annotations

from pydantic import Field

from web.models.base import ResponseModel, Timestamp


class BlacklistedRecipientEntry(ResponseModel):
    """A recipient the relay does not mail until `release_at`."""

    address: str
    release_at: Timestamp = Field(description="2 weeks after its last bounce")


class RelayRefusals(ResponseModel):
    """Refused recipients by reason, since the appliance first relayed."""

    quota: int = Field(description="Your appliance exhausted email quota")
    blacklisted: int = Field(description="Recipient is blacklisted due to bounce messages")
    bounced: int = Field(description="Not allowed to send emails due to too many bounced emails")
    format: int = Field(description="Email address format is not valid")


class RelayApplianceEntry(ResponseModel):
    """One appliance's use of the notification relay."""

    appliance_id: str
    name: str
    product: str
    sent: int = Field(description="Emails accepted in the current window")
    limit: int = Field(description="Emails allowed per window (100)")
    window_started_at: Timestamp | None = Field(description="The window's first email")
    resets_at: Timestamp | None = Field(description="24 hours after the window's first email")
    sent_total: int
    refused: RelayRefusals
    blacklisted: list[BlacklistedRecipientEntry] = Field(
        description="Recipients it mailed that are blacklisted now"
    )
    refused_altogether: bool = Field(description="5 or more blacklisted: every email refused")


class RelayList(ResponseModel):
    """The organization's Kerio Control and Kerio Operator appliances, by name."""

    appliances: list[RelayApplianceEntry]


class BlacklistEntryModel(ResponseModel):
    """One blacklisted address (operators only)."""

    address: str
    first_bounce_at: Timestamp
    last_bounce_at: Timestamp
    release_at: Timestamp
    bounces: int
    last_reason: str = Field(description="The last 5xx reply or delivery status notification")


class Blacklist(ResponseModel):
    """The relay's whole blacklist, soonest released first."""

    entries: list[BlacklistEntryModel]
