"""The appliance's side of "Open administration": `tunnel_http` streams answered by its own
admin UI, in-process, and the people MyKerio signed in (docs/protocol.md, section 9.8).

Each stream is one browser request. Its head comes in the stream's `meta`; the request goes
straight into the admin UI's Tornado application through a connection object that writes the
response head and body to the stream (no local socket, nothing buffered: a handler that
flushes streams, with the stream's credit as back-pressure). Only paths under `/admin` are
served this way: the appliance's local MyKerio settings page is not reachable through MyKerio.

Unified login: a request that carries the hub's assertion (signed with the hub key this
appliance pinned, for this appliance, unexpired, its nonce never seen) reaches the admin UI with
the identity in its connection's context, never in a header; the login route then opens an
admin session for "<name> via MyKerio". A forged, expired or replayed assertion signs nobody in
and is written to the audit log. With remote administration turned off (`--no-remote-admin`)
the appliance declares `tunnel_off` instead of `tunnel` and refuses every stream.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from tornado import httputil
from tornado.web import Application

from mykerio.clock import Clock, SystemClock
from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.stream_link import Stream, StreamError, StreamLink
from mykerio.protocol.tunnel import (
    KIND,
    RESPONSE_HEADERS,
    WS_KIND,
    AssertionRefused,
    Identity,
    TunnelRequest,
    WsMessageReader,
    encode_response_head,
    encode_ws_message,
    forwarded_headers,
    read_request,
    verify_assertion,
)

Message = str | bytes
# A WebSocket service of the administration: (who is signed in, if anyone; the next message
# or None at the end; send one message).
SocketService = Callable[
    [
        Identity | None,
        Callable[[], Awaitable[Message | None]],
        Callable[[Message], Awaitable[None]],
    ],
    Awaitable[None],
]

# Request bodies the admin UI takes through the tunnel (its forms and JSON-RPC calls).
MAX_BODY_BYTES = 1024 * 1024
SERVED_PREFIX = "/admin"
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the appliance's own audit log."""

    at: datetime
    who: str
    what: str
    ip: str


@dataclass(frozen=True, slots=True)
class TunnelContext:
    """What the admin UI learns about a request that came through MyKerio (Tornado reads
    `remote_ip` and `protocol`; `identity` is set only from a verified assertion)."""

    remote_ip: str
    protocol: str = "https"
    identity: Identity | None = None
    through_mykerio: bool = True


@dataclass
class AdminSessions:
    """The admin UI's sessions, all opened through MyKerio: token → identity, and the audit."""

    audit: list[AuditEntry] = field(default_factory=list)
    _sessions: dict[str, Identity] = field(default_factory=dict)

    def open(self, identity: Identity) -> str:
        """A new session's cookie value."""
        token = secrets.token_urlsafe(32)
        self._sessions[token] = identity
        return token

    def who(self, token: str | None) -> Identity | None:
        """The person of a session cookie, or None."""
        return self._sessions.get(token or "")

    def close(self, token: str | None) -> None:
        """Log out."""
        self._sessions.pop(token or "", None)


class ApplianceTunnel:
    """Answers the hub's `tunnel_http` streams with the admin UI (a hook of every session)."""

    stream_kinds = frozenset({KIND, WS_KIND})

    def __init__(
        self,
        application: Callable[[], Application],
        pinned: Callable[[], tuple[bytes | None, str | None]],
        *,
        remote_admin: bool = True,
        host_name: str = "kerio",
        clock: Clock | None = None,
    ) -> None:
        self._application = application
        self._app: Application | None = None
        self._pinned = pinned  # (the pinned hub key, this appliance's id in the hub)
        self.remote_admin = remote_admin
        self._clock = clock or SystemClock()
        self._nonces: dict[str, int] = {}
        self.sessions = AdminSessions()
        self.form_key = secrets.token_bytes(32)  # the console's forms' tokens
        self.host_name = host_name
        self._tasks: set[asyncio.Task[None]] = set()
        # The administration's WebSockets by path (the console registers its own).
        self.sockets: dict[str, SocketService] = {}

    def record(self, who: str, what: str, ip: str) -> None:
        """Write one line to the audit log."""
        self.sessions.audit.append(AuditEntry(self._clock.now(), who, what, ip))
        log.info("admin audit", who=who, what=what)

    def stream_opened(
        self, streams: StreamLink, stream: Stream, meta: Mapping[str, object]
    ) -> None:
        """The hub opened a `tunnel_http` stream: serve it, or refuse it now."""
        if not self.remote_admin:
            streams.refuse(stream, "forbidden")
            return
        try:
            request = read_request(meta)
        except ProtocolError as error:
            log.info("tunnel request refused", reason=error.message)
            streams.refuse(stream, "forbidden")
            return
        if stream.kind == WS_KIND:
            service = self.sockets.get(request.path.partition("?")[0])
            if service is None or request.method != "GET":
                streams.refuse(stream, "unsupported")
                return
            streams.accept(stream)
            work = self._serve_socket(stream, request, service)
        else:
            streams.accept(stream)
            work = self._serve(stream, request)
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def unlinked(self) -> None:
        """The link went: its streams are gone, and so are the requests they carried."""
        for task in list(self._tasks):
            task.cancel()

    async def _serve(self, stream: Stream, request: TunnelRequest) -> None:
        ip = request.header("x-mykerio-client") or ""
        if not request.path.startswith(SERVED_PREFIX):
            await _answer(stream, 404, b"Only the administration (/admin) is served to MyKerio.")
            return
        identity = self._identity(request, ip)
        connection = _StreamConnection(stream, TunnelContext(ip, identity=identity))
        if self._app is None:
            self._app = self._application()
        delegate = self._app.start_request(None, connection)
        headers = httputil.HTTPHeaders()
        for name, value in request.headers:
            if name != "x-mykerio-client":
                headers.add(name, value)
        headers["Host"] = "appliance"
        try:
            await _maybe(
                delegate.headers_received(
                    httputil.RequestStartLine(request.method, request.path, "HTTP/1.1"), headers
                )
            )
            length = request.header("content-length")
            expected = int(length) if length is not None else None
            if expected is None and request.method in _NO_BODY_METHODS:
                # No body to wait for: answer now, without waiting a round trip for the hub's
                # FIN (which may come only after our accept reached it); a byte of body that
                # comes anyway fails the stream.
                delegate.finish()
                await connection.finished.wait()
                if await stream.read():
                    stream.reset("stream_error")
                return
            received = 0
            while chunk := await stream.read():
                received += len(chunk)
                if received > MAX_BODY_BYTES or (expected is not None and received > expected):
                    stream.reset("stream_error")
                    connection.lost()
                    return
                await _maybe(delegate.data_received(chunk))
            if expected is not None and received != expected:
                stream.reset("stream_error")  # a body shorter than it said: not a request
                connection.lost()
                return
            delegate.finish()
            await connection.finished.wait()
        except StreamError:
            connection.lost()  # the browser or the hub gave up on it

    async def _serve_socket(
        self, stream: Stream, request: TunnelRequest, service: SocketService
    ) -> None:
        """One tunnelled WebSocket: messages as frames on the stream, both ways."""
        cookies = httputil.parse_cookie(request.header("cookie") or "")
        who = self.sessions.who(cookies.get("KSESSION"))
        reader = WsMessageReader()
        waiting: list[Message] = []

        async def receive() -> Message | None:
            while not waiting:
                chunk = await stream.read()
                if not chunk:
                    return None
                waiting.extend(reader.feed(chunk))
            return waiting.pop(0)

        async def send(message: Message) -> None:
            await stream.write(encode_ws_message(message))

        try:
            await service(who, receive, send)
            stream.close()
            while await stream.read():
                pass
        except ProtocolError:
            stream.reset("stream_error")
        except StreamError:
            return  # the browser closed it, or the link went

    def _identity(self, request: TunnelRequest, ip: str) -> Identity | None:
        if request.assertion is None:
            return None
        hub_key, appliance_id = self._pinned()
        if hub_key is None or appliance_id is None:
            return None
        try:
            return verify_assertion(
                hub_key,
                request.assertion,
                appliance_id,
                self._clock.now().timestamp(),
                self._nonces,
            )
        except AssertionRefused as refused:
            self.record("MyKerio", f"sign-in refused: {refused}", ip)
            return None


class _StreamConnection(httputil.HTTPConnection):
    """Tornado's view of one tunnelled request: what the handler writes goes to the stream."""

    def __init__(self, stream: Stream, context: TunnelContext) -> None:
        self._stream = stream
        self.context = context
        self._last: asyncio.Future[None] | None = None
        self._on_close: Callable[[], None] | None = None
        self.finished = asyncio.Event()

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        self._on_close = callback

    def write_headers(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
        chunk: bytes | None = None,
    ) -> asyncio.Future[None]:
        assert isinstance(start_line, httputil.ResponseStartLine)
        pairs = forwarded_headers(list(headers.get_all()), RESPONSE_HEADERS)
        return self.write(encode_response_head(start_line.code, pairs) + (chunk or b""))

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        # Queued at once (so a small answer and its FIN go in one frame); the handler's
        # `flush` waits for room in the stream's send budget.
        try:
            self._stream.queue(chunk)
        except StreamError as error:
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(error)
            failed.exception()  # (marked seen: the handler that awaits it gets it anyway)
            self.lost()
            return failed
        self._last = asyncio.ensure_future(self._stream.room())
        self._last.add_done_callback(self._written)
        return self._last

    def finish(self) -> None:
        self._close()

    def lost(self) -> None:
        """The stream went before the answer did."""
        if self._on_close is not None:
            self._on_close()
            self._on_close = None
        self.finished.set()

    def _close(self) -> None:
        self._stream.close()
        self.finished.set()

    def _written(self, done: asyncio.Future[None]) -> None:
        if not done.cancelled() and done.exception() is not None:
            self.lost()


async def _maybe(result: Awaitable[None] | None) -> None:
    if result is not None:
        await result


async def _answer(stream: Stream, status: int, text: bytes) -> None:
    head = encode_response_head(
        status,
        (("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(text)))),
    )
    try:
        while await stream.read():
            pass
        await stream.write(head + text)
        stream.close()
    except StreamError:
        return
