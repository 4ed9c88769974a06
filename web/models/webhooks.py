"""Bodies of webhooks: an organization's endpoints, their secrets (once) and delivery logs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from web.models.base import RequestModel, ResponseModel, Timestamp

Format = Literal["json", "slack", "teams"]
Event = Literal["status", "notification"]


class WebhookEntry(ResponseModel):
    """One endpoint (never its secret)."""

    id: str
    name: str
    url: str
    format: Format = Field(description="json (MyKerio's own), slack or teams incoming webhooks")
    events: list[Event] = Field(description="status: online/offline; notification: appliances'")
    severity_from: Literal["off", "warning", "error"] = Field(
        description="Appliance notifications from this severity"
    )
    created_by: str
    created_at: Timestamp


class WebhooksList(ResponseModel):
    """The organization's endpoints."""

    webhooks: list[WebhookEntry]


class NewWebhookAnswer(ResponseModel):
    """The new endpoint and its signing secret, shown only now."""

    webhook: WebhookEntry
    secret: str = Field(
        description="whsec_…: the key of the Webhook-Signature HMAC-SHA256 (Standard Webhooks)"
    )


class WebhookRequest(RequestModel):
    """A new endpoint."""

    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=2048)
    format: Format = "json"
    events: list[Event] = Field(min_length=1)
    severity_from: Literal["off", "warning", "error"] = "error"


class DeliveryEntry(ResponseModel):
    """One post to an endpoint."""

    id: str = Field(description="Its webhook-id header, the same on every attempt")
    at: Timestamp
    event: Literal["status", "changes", "test"]
    status: Literal["pending", "sent", "failed"]
    attempts: int
    response_status: int = Field(description="The last HTTP status answered (0: none)")
    last_error: str
    next_attempt_at: Timestamp
    done_at: Timestamp | None


class DeliveriesList(ResponseModel):
    """The endpoint's newest deliveries, newest first."""

    deliveries: list[DeliveryEntry]
