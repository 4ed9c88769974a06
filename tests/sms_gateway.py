"""A local HTTP SMS gateway for tests: records each posted message (the carrier is faked)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web


class _Receive(tornado.web.RequestHandler):
    def initialize(self, gateway: LoopbackSmsGateway) -> None:
        self.gateway = gateway

    def post(self) -> None:
        if self.request.headers.get("Authorization") != self.gateway.expected_authorization:
            self.set_status(401)
            return
        self.gateway.received(json.loads(self.request.body))
        self.write({"status": "queued"})


class LoopbackSmsGateway:
    """Serves POST /send on 127.0.0.1; `wait_for(n)` awaits n messages."""

    expected_authorization = "Bearer test-gateway-token"

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        app = tornado.web.Application([(r"/send", _Receive, {"gateway": self})])
        self._server = tornado.httpserver.HTTPServer(app)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self._server.add_sockets(sockets)
        self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/send"

    def received(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self._arrived.set()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.messages

    def last_code(self) -> str:
        """The 6-digit code in the newest message."""
        match = re.search(r"\b(\d{6})\b", self.messages[-1]["text"])
        assert match, self.messages[-1]
        return match.group(1)

    def stop(self) -> None:
        self._server.stop()
