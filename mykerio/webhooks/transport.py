"""What posts a webhook delivery (the web layer gives a Tornado client)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class WebhookUnreachable(Exception):
    """The endpoint could not be reached (refused, timed out, or a forbidden address)."""


class WebhookTransport(Protocol):
    """Posts one body; answers the HTTP status (any, redirects not followed)."""

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        """POST `body`; the status code, or `WebhookUnreachable`."""
        ...
