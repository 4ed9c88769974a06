"""A member's live dashboard socket, for tests that await the hub's pushes instead of polling."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from tests.api_client import ApiSession


class LiveWatch:
    """A member's dashboard socket, to await the hub's live updates instead of polling."""

    def __init__(self, api: ApiSession, org_id: str) -> None:
        self.request = HTTPRequest(
            api.base_url.replace("https://", "wss://") + f"/api/v1/live?org={org_id}",
            headers={
                "Cookie": "; ".join(f"{k}={v}" for k, v in api.cookies.items()),
                "Origin": api.base_url,
            },
            ssl_options=api.ssl,
        )
        self.socket: Any = None

    async def __aenter__(self) -> LiveWatch:
        self.socket = await websocket_connect(self.request)
        assert json.loads(await self.socket.read_message())["type"] == "hello"
        return self

    async def __aexit__(self, *_: object) -> None:
        self.socket.close()

    async def until(self, wanted: Any, timeout: float = 5.0) -> dict[str, Any]:
        """The first live message for which `wanted(message)` holds."""
        async with asyncio.timeout(timeout):
            while True:
                message: dict[str, Any] = json.loads(await self.socket.read_message())
                if wanted(message):
                    return message

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next live message, whatever it is."""
        async with asyncio.timeout(timeout):
            message: dict[str, Any] = json.loads(await self.socket.read_message())
            return message
