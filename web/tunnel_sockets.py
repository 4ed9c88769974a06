"""WebSockets of an appliance's administration through the tunnel: one `tunnel_ws` stream
each (docs/protocol.md, section 9.8), the browser's upgrade answered only once the appliance
accepted, its Origin the tunnel origin's."""

from __future__ import annotations

import asyncio
from typing import Any

import tornado.httputil
import tornado.iostream
import tornado.web
import tornado.websocket

from mykerio.errors import DomainError
from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.stream_link import Stream, StreamError
from mykerio.protocol.tunnel import (
    REQUEST_HEADERS,
    WS_KIND,
    WsMessageReader,
    encode_ws_message,
    forwarded_headers,
    request_meta,
)
from web.tunnel_origin import TunnelPage, admitted
from web.tunnel_sessions import TunnelSession


class TunnelSocketHandler(tornado.websocket.WebSocketHandler, TunnelPage):
    """A WebSocket the appliance's administration opens: one `tunnel_ws` stream, its
    messages as frames both ways; the upgrade is answered only once the appliance accepted."""

    session: TunnelSession | None = None
    stream: Stream | None = None
    _pump: asyncio.Task[None] | None = None
    _counted = ""  # the appliance whose WebSocket count this one holds

    async def get(self, *args: Any, **kwargs: Any) -> None:
        session = await admitted(self)
        if session is None:
            return
        appliance_id = session.grant.appliance_id
        if not self.origin.take_socket(appliance_id):
            self.explain(503, "Too many live connections", "Close another tab and try again.")
            return
        self._counted = appliance_id
        headers = forwarded_headers(list(self.request.headers.get_all()), REQUEST_HEADERS)
        cookies = session.cookie_header()
        extra: tuple[tuple[str, str], ...] = (("x-mykerio-client", self.request.remote_ip or ""),)
        if cookies is not None:
            extra = (("cookie", cookies), *extra)
        try:
            meta = request_meta("GET", self.request.uri or "/", headers + extra)
            stream = self.origin.streams.open(appliance_id, WS_KIND, meta)
            async with asyncio.timeout(self.origin.idle_timeout):
                await stream.accepted()
        except (ProtocolError, DomainError, StreamError, TimeoutError):
            self._uncount()
            self.explain(404, "No such live connection", "The appliance has no WebSocket here.")
            return
        self.session, self.stream = session, stream
        session.streams.add(stream)
        await super().get(*args, **kwargs)

    def check_origin(self, origin: str) -> bool:
        """Only the tunnel origin's own pages (no other site can ride the tunnel cookie)."""
        return origin.rstrip("/") == self.origin.public_url.rstrip("/")

    def open(self, *args: str, **kwargs: str) -> None:
        self.set_nodelay(True)  # (messages are small and interactive)
        self._pump = asyncio.ensure_future(self._from_appliance())

    async def _from_appliance(self) -> None:
        assert self.stream is not None
        reader = WsMessageReader()
        try:
            while chunk := await self.stream.read():
                for message in reader.feed(chunk):
                    await self.write_message(message, binary=isinstance(message, bytes))
        except (StreamError, ProtocolError, tornado.websocket.WebSocketClosedError):
            pass
        self.close()

    async def on_message(self, message: str | bytes) -> None:
        if self.stream is None:
            return
        try:
            await self.stream.write(encode_ws_message(message))
        except (StreamError, ProtocolError):
            self.close()

    def on_close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            if self.session is not None:
                self.session.streams.discard(self.stream)
        self._uncount()

    def _uncount(self) -> None:
        if self._counted:
            self.origin.give_socket(self._counted)
            self._counted = ""
