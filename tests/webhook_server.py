"""A real HTTP server on loopback that takes webhook posts, for tests: it records each request
and answers the statuses it is told to (then 200)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web


@dataclasses.dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class _Hook(tornado.web.RequestHandler):
    def initialize(self, server: LoopbackWebhookServer) -> None:
        self.server = server

    def post(self) -> None:
        headers = {k.lower(): v for k, v in self.request.headers.items()}
        self.server.received(Received(headers, self.request.body))
        self.set_status(self.server.answers.pop(0) if self.server.answers else 200)
        self.finish()


class LoopbackWebhookServer:
    """Listens on 127.0.0.1; `url` is where to post; `wait_for(n)` awaits n posts."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answers: list[int] = []  # statuses to answer, in order, before 200s
        self._arrived = asyncio.Event()
        [bound] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        self.port = bound.getsockname()[1]
        app = tornado.web.Application([("/hook", _Hook, {"server": self})])
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets([bound])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def received(self, request: Received) -> None:
        self.requests.append(request)
        self._arrived.set()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        async with asyncio.timeout(timeout):
            while len(self.requests) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.requests

    def stop(self) -> None:
        self._server.stop()
