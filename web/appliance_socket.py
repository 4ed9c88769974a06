"""The appliance socket, `/appliance/v1/socket` (docs/protocol.md): it only moves frames.

Each socket has a `ConnectionActor` (actors/connection.py) that owns its life: handshake,
pairing, set-up by serial, linking. This handler decodes frames and hands them to that actor,
and writes what the actor (and, once linked, the `ApplianceActor`) gives it through the `Link`
methods below. Every text frame but a credit grant spends a token of the connection's message
budget (over it: 4029). On version 2, once linked, binary frames and stream control messages go
to the socket's `StreamLink`, whose one writer puts the control lane ahead of stream data; the
control lane is bounded like the version 1 send queue (4008), stream data only by credit.

Admission: an upgrade over the hub's bound on handshakes in progress (`HandshakeBudget`) is
answered `503` with `Retry-After` before any actor, signature or store work (docs/protocol.md,
section 6, storm rules); an admitted socket frees its slot once welcomed, shown a code or gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import tornado.httputil
import tornado.ioloop
import tornado.iostream
import tornado.websocket

from actors.appliance import ApplianceActor
from actors.clients import ActorClient
from actors.connection import ConnectionActor
from mykerio.protocol.envelope import MAX_MESSAGE_BYTES, Envelope, JsonValue, decode, encode
from mykerio.protocol.errors import CloseCode, ProtocolError, close_code_for
from mykerio.protocol.link import MessageBudget, send_queue_full
from mykerio.protocol.stream_link import StreamLink, keep_unsent_small
from mykerio.protocol.streams import CONTROL_TYPES, StreamState
from mykerio.protocol.versions import STREAMS_VERSION
from web.appliance_links import ApplianceLinks
from web.base import BaseHandler
from web.openapi import op

_CLOSED = (tornado.websocket.WebSocketClosedError, tornado.iostream.StreamClosedError)


class ApplianceSocketHandler(tornado.websocket.WebSocketHandler, BaseHandler):
    """One appliance connection (its upgrade is counted and logged like any request)."""

    openapi = {
        "get": op(
            "The appliance socket (WebSocket over TLS); protocol in docs/protocol.md",
            "appliances",
            {"101": "Switching protocols"},
        )
    }

    def initialize(self, links: ApplianceLinks, **kwargs: Any) -> None:  # type: ignore[override]
        """Store the hub's collaborators."""
        super().initialize(**kwargs)
        self.links = links
        self.connection: ActorClient[ConnectionActor] | None = None
        # Once linked, the appliance's actor takes the frames (the connection's has stopped).
        self.appliance: ActorClient[ApplianceActor] | None = None
        self.protocol_version = 1  # the version the connection chose at `hello`
        self.streams: StreamLink | None = None  # version 2, once linked
        self.appliance_id = ""
        self.pending_writes = 0
        self.pending_bytes = 0
        self.heard_at = links.clock.monotonic()  # when the last frame came (the silence rule)
        self.budget = MessageBudget(links.message_burst, links.message_rate, self.heard_at)
        self.over_budget = False
        self.past_handshake = False  # a pong is then only a sign of life
        self.holds_slot = False  # holds a slot of the handshake budget

    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Wait in line for a handshake slot (briefly), or refuse the upgrade cheaply; then
        serve the socket (Tornado's `get` returns only once the socket is closed)."""
        retry_after = await self.links.handshakes.enter(self.links.clock.monotonic())
        if retry_after is not None:
            self.set_status(503)
            self.set_header("Retry-After", str(retry_after))
            self.finish()
            return
        self.holds_slot = True
        if self.request.connection is None or _gone(self.request.connection):
            self._leave_budget(finished=False)  # it hung up while it waited in line
            return
        try:
            await super().get(*args, **kwargs)
        finally:
            self._leave_budget(finished=False)  # (a failed upgrade, or closed mid-handshake)

    @property
    def ip(self) -> str:
        """The address it connected from."""
        return self.request.remote_ip or ""

    def check_origin(self, origin: str) -> bool:
        """Appliances are not browsers: no Origin to check, no cookies used."""
        return True

    def get_compression_options(self) -> dict[str, Any] | None:
        """Compress frames."""
        return {}

    def open(self, *args: str, **kwargs: str) -> None:
        """Start the connection's actor (its handshake clock runs from now).

        The upgrade's request and response headers have done their work (the 101 is written,
        the access line logged): they are let go rather than kept for the socket's life, ~6 KB
        a socket that a hub holding 19,000 appliances would keep for nothing."""
        self.request.headers = tornado.httputil.HTTPHeaders()
        self._headers = tornado.httputil.HTTPHeaders()
        self._transforms = []
        ref = ConnectionActor.start(
            runtime=self.links.runtime, link=self, context=self.links.context
        )
        self.connection = ActorClient(ref, self.links.ask_timeout)

    def on_message(self, message: str | bytes) -> None:
        """Decode, count against the budget, hand over."""
        if self.over_budget or (self.connection is None and self.appliance is None):
            return  # one error and close; later frames are dropped unread
        if isinstance(message, bytes):
            if self.streams is None:
                self._fail(ProtocolError("bad_json", "binary frames come only after welcome"))
                return
            self.heard_at = self.links.clock.monotonic()
            self._to_streams(lambda streams: streams.receive_binary(message))
            return
        try:
            envelope: Envelope | None = decode(
                message, max_bytes=MAX_MESSAGE_BYTES, sent_by="appliance"
            )
        except ProtocolError as error:
            envelope, failure = None, error
        # Credit grants follow the data the hub sends (credit bounds them), and the answer to
        # a stream the hub opened follows that open (a tunnelled page opens dozens): no token.
        free = (
            self.streams is not None
            and envelope is not None
            and _answers_hub(self.streams, envelope)
        )
        if not free and not self.budget.take(self.links.clock.monotonic()):
            self.over_budget = True
            self._fail(ProtocolError("too_many_messages", "over the message budget"))
        elif envelope is None:
            self._fail(failure)
        else:
            self.heard_at = self.links.clock.monotonic()  # any frame is a sign of life
            if envelope.type == "pong" and self.past_handshake:
                return  # (thousands of appliances answer a ping every 30 s: no actor needed)
            if self.streams is not None and envelope.type in CONTROL_TYPES:
                body = envelope.body
                self._to_streams(lambda s: s.receive_control(envelope.type, body), envelope.id)
            elif self.appliance is not None:
                self.appliance.tell(ApplianceActor.received, envelope)
            elif self.connection is not None:
                self.connection.tell(ConnectionActor.received, envelope)

    def on_pong(self, data: bytes) -> None:
        """A pong frame (version 2 liveness) is a sign of life, like any frame."""
        self.heard_at = self.links.clock.monotonic()

    def on_close(self) -> None:
        """Tell the connection's actor; end the streams."""
        if self.streams is not None:
            self.links.streams.discard(self.appliance_id, self.streams)
            tornado.ioloop.IOLoop.current().add_callback(self.streams.stop)
        if self.appliance is not None:
            self.appliance.tell(ApplianceActor.disconnected)
        elif self.connection is not None:
            self.connection.tell(ConnectionActor.closed)

    # The Link, as the connection's actor and the ApplianceActor use it.
    def negotiated(self, version: int) -> None:
        """The connection chose protocol `version` at `hello`."""
        self.protocol_version = version

    def admitted(self) -> None:
        """The handshake is done: pongs need not reach the connection's actor, and its slot
        goes to the next appliance."""
        self.past_handshake = True
        self._leave_budget(finished=True)

    def hand_over(self, appliance: ActorClient[ApplianceActor]) -> None:
        """Linked: frames and the close go to the appliance's actor from now on."""
        self.appliance = appliance
        self.connection = None

    @property
    def closing(self) -> bool:
        """Closed or closing: work for it would be wasted."""
        return self.ws_connection is None or self.ws_connection.is_closing()

    def _leave_budget(self, *, finished: bool) -> None:
        if self.holds_slot:
            self.holds_slot = False
            self.links.handshakes.leave(self.links.clock.monotonic(), finished=finished)

    def send(self, envelope: Envelope) -> bool:
        """Queue a message; close with 4008 if the appliance does not read fast enough."""
        text = encode(envelope)
        streams = self.streams  # version 2, linked: the control lane
        messages, size = (
            streams.queued_control() if streams else (self.pending_writes, self.pending_bytes)
        )
        if send_queue_full(messages + 1, size + len(text)):
            self.close(CloseCode.TOO_SLOW, "send_queue_full")
            return False
        if streams is not None:
            streams.send_control(text)
            return True
        try:
            future = self.write_message(text)
        except tornado.websocket.WebSocketClosedError:
            return False
        self.pending_writes += 1
        self.pending_bytes += len(text)

        def written(_: Any, size: int = len(text)) -> None:
            self.pending_writes -= 1
            self.pending_bytes -= size

        future.add_done_callback(written)
        return True

    def ping_appliance(self) -> bool:
        """A liveness ping: a WebSocket ping frame on version 2, a JSON `ping` on 1."""
        if self.protocol_version < STREAMS_VERSION:
            return self.send(Envelope.new("ping", {}))
        try:
            self.ping()
        except tornado.websocket.WebSocketClosedError:
            return False
        return True

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the socket, after the control lane's last messages (an `error` first); a
        handshake it was in frees its slot at once."""
        self._leave_budget(finished=False)
        if self.streams is not None:
            for text in self.streams.take_control():
                with contextlib.suppress(tornado.websocket.WebSocketClosedError):
                    self.write_message(text)
        super().close(code, reason)

    def hang_up(self, code: int, reason: str) -> None:
        """Send the close frame, then drop the connection at once instead of waiting for the
        appliance's answering close frame: at shutdown the wait and the answer's processing
        were half of the work of closing 19,000 sockets. The appliance reads `code` and, as
        with any 1001, reconnects after its random first delay."""
        connection = self.ws_connection
        self.close(code, reason)
        if connection is not None:
            connection._abort()  # Tornado has no public "close without waiting"

    def start_streams(self, appliance_id: str, features: Mapping[str, int]) -> None:
        """Linked with version 2: one writer, control lane first, then stream data."""
        if self.ws_connection is None:
            return
        if self.ws_connection.stream is not None:
            keep_unsent_small(self.ws_connection.stream.socket)
        # Streams carry request/answer traffic (a tunnelled page is 51 of them): Nagle would
        # hold each small frame until the last one is acknowledged (up to a delayed ACK).
        self.set_nodelay(True)
        self.appliance_id = appliance_id
        self.streams = self.links.streams.start(appliance_id, features, self._write)

    async def _write(self, message: str | bytes, binary: bool) -> None:
        with contextlib.suppress(*_CLOSED):  # (closing: on_close stops the writer)
            await self.write_message(message, binary=binary)

    def _to_streams(self, deliver: Any, re: str | None = None) -> None:
        try:
            deliver(self.streams)
        except ProtocolError as error:
            self._fail(error, re=re)

    def _fail(self, error: ProtocolError, *, re: str | None = None) -> None:
        """Send `error` (answering the offending message when it had an id), then close."""
        body: dict[str, JsonValue] = {"code": error.code, "message": error.message}
        self.send(Envelope.new("error", body, re=re or error.re))
        self.close(int(close_code_for(error)), error.code)


def _answers_hub(streams: StreamLink, envelope: Envelope) -> bool:
    """A credit grant, or the accept or refusal of a stream the hub opened and is waiting on."""
    if envelope.type == "stream_credit":
        return True
    if envelope.type not in ("stream_accept", "stream_refuse"):
        return False
    stream_id = envelope.body.get("stream")
    return type(stream_id) is int and streams.mux.state(stream_id) is StreamState.OPENING


def _gone(connection: Any) -> bool:
    """Whether an HTTP connection's stream is closed (an upgrade that waited for its turn)."""
    stream = getattr(connection, "stream", None)
    return stream is not None and stream.closed()
