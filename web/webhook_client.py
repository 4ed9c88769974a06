"""The webhook transport (`mykerio.webhooks.transport`): Tornado's HTTP client with a resolver
that refuses the hub's own network.

Every address a webhook's host name resolves to is checked (`address_allowed`) in the very
resolution the connection then uses, so a name that points at loopback, a private network or
a link-local service (cloud metadata) is refused even if it pointed elsewhere when the webhook
was added. Redirects are not followed (a redirect could lead inside as well).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.netutil import DefaultLoopResolver, Resolver

from mykerio.webhooks.addresses import address_allowed
from mykerio.webhooks.transport import WebhookUnreachable


class _CheckingResolver(Resolver):
    """Resolves like the default resolver, then refuses forbidden addresses."""

    def initialize(self, allow_private: bool = False) -> None:
        self._inner = DefaultLoopResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        found = await self._inner.resolve(host, port, family)
        allowed = [
            entry
            for entry in found
            if address_allowed(str(entry[1][0]), allow_private=self._allow_private)
        ]
        if not allowed or len(allowed) != len(found):
            raise WebhookUnreachable(f"{host} resolves to an address webhooks may not reach")
        return allowed


class TornadoWebhookTransport:
    """Posts webhook bodies; answers the status code, never following redirects."""

    def __init__(self, *, timeout: float, allow_private: bool) -> None:
        self._timeout = timeout
        self._client = AsyncHTTPClient(
            force_instance=True, resolver=_CheckingResolver(allow_private=allow_private)
        )

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        """POST `body` to `url`; its status, or `WebhookUnreachable`."""
        request = HTTPRequest(
            url,
            method="POST",
            headers=dict(headers, **{"User-Agent": "MyKerio-Webhooks/1"}),
            body=body,
            follow_redirects=False,
            connect_timeout=self._timeout,
            request_timeout=self._timeout,
        )
        try:
            response = await self._client.fetch(request, raise_error=False)
        except WebhookUnreachable:
            raise
        except HTTPClientError as error:  # (timeouts come as 599)
            raise WebhookUnreachable(f"no answer ({error.code})") from None
        except OSError as error:
            raise WebhookUnreachable(f"cannot connect ({error.strerror or error})") from None
        if response.code == 599:
            raise WebhookUnreachable(f"no answer ({response.error})")
        return response.code

    def close(self) -> None:
        """Release the client's connections."""
        self._client.close()
