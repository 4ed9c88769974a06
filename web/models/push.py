"""Bodies of Web Push: the hub's key, a browser's subscription, a test push."""

from __future__ import annotations

from pydantic import Field

from web.models.base import RequestModel, ResponseModel


class PushKey(ResponseModel):
    """What a browser subscribes with."""

    public_key: str = Field(description="The VAPID applicationServerKey (P-256, base64url)")


class PushKeys(RequestModel):
    """The subscription's keys, as `PushSubscription.toJSON()` gives them."""

    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class PushSubscriptionRequest(RequestModel):
    """A browser's `PushSubscription.toJSON()` ("Notify this device")."""

    endpoint: str = Field(min_length=1, max_length=2048)
    keys: PushKeys
    expirationTime: int | None = None  # noqa: N815 - the browser's own field name


class PushEndpointRequest(RequestModel):
    """Which browser to stop notifying."""

    endpoint: str = Field(min_length=1, max_length=2048)


class PushDevices(ResponseModel):
    """How many of your browsers are notified, and (after a test) how it went."""

    devices: int
    sent: int = 0
    dropped: int = Field(default=0, description="Subscriptions the push service no longer knew")
