"""The HTTP SMS gateway adapter (`[sms] gateway_url`): one POST per text message."""

from __future__ import annotations

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from mykerio.config import SmsConfig
from mykerio.sms import SmsError, render_gateway_body


class HttpSmsGateway:
    """Posts each message to the configured gateway; any non-2xx answer is an `SmsError`."""

    def __init__(self, config: SmsConfig, client: AsyncHTTPClient | None = None) -> None:
        self._config = config
        self._client = client or AsyncHTTPClient()

    async def send(self, to: str, text: str) -> None:
        """Hand one message to the gateway."""
        c = self._config
        headers = {"Content-Type": c.gateway_content_type}
        if c.gateway_authorization:
            headers["Authorization"] = c.gateway_authorization
        request = HTTPRequest(
            c.gateway_url,
            method="POST",
            headers=headers,
            body=render_gateway_body(c.gateway_body, c.gateway_content_type, to=to, text=text),
            request_timeout=c.gateway_timeout,
            connect_timeout=c.gateway_timeout,
        )
        try:
            await self._client.fetch(request)
        except HTTPClientError as exc:
            raise SmsError(f"The SMS gateway refused the message ({exc.code}).") from None
        except OSError:
            raise SmsError("The SMS gateway cannot be reached; try again later.") from None
