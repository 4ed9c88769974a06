"""The tunnel origin: browsers' requests to an appliance's own administration, each carried as
a `tunnel_http` stream on the appliance's link (docs/protocol.md, section 9.8).

Served by a listener of its own (`[tunnel] port`), so that no page of an appliance shares the
dashboard's origin: it cannot read the hub's cookies (all HttpOnly, and never forwarded) nor
call the hub's API (other origin: no CORS, no CSRF token). Routes:

- `/__mykerio/enter?ticket=T`: redeems a ticket once, sets the tunnel cookie (`__Host-`,
  host-only, Secure, HttpOnly, SameSite=Strict, a browser-session cookie whose server side ends
  with the hub session), signs the user in on the appliance with the hub's signed assertion,
  and redirects to `/admin/` (the ticket leaves the address bar);
- `/__mykerio/banner.css`: the style of the hub's banner;
- anything else: forwarded, if the cookie's session is alive, the appliance connected and the
  path not Kerio Control Statistics. The request head goes in the stream's open message (no
  extra round trip), its body streams with the stream's credit, the response streams back with
  `flush` (never a whole page in memory). Headers pass through allow-lists both ways; the
  appliance's cookies stay in the session's jar. HTML pages get the hub's banner, with the
  return arrow to the dashboard, inserted after `<body>`.

At most `[tunnel] max_streams` requests of one appliance run at once (more wait in line, up to
30 s); a request that moves no byte for `[tunnel] idle_timeout` seconds is reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog
import tornado.httputil
import tornado.iostream
import tornado.web
import tornado.websocket

from mykerio.clock import Clock
from mykerio.errors import DomainError
from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.stream_link import Stream, StreamError
from mykerio.protocol.tunnel import (
    KIND,
    REQUEST_HEADERS,
    WS_KIND,
    Identity,
    ResponseHead,
    ResponseHeadReader,
    WsMessageReader,
    encode_ws_message,
    forwarded_headers,
    request_meta,
    sign_assertion,
)
from web.appliance_streams import ApplianceStreams
from web.tunnel_sessions import TunnelSession, TunnelSessions

COOKIE = "__Host-mk_tunnel"
LOGIN_PATH = "/admin/login/mykerio"
QUEUE_SECONDS = 30.0
# Kerio Control Statistics (guide 2.8: not reachable from an administration opened in MyKerio).
STATISTICS = re.compile(r"^/(admin/)?(statistics|stats)(/|$|\?)", re.IGNORECASE)
_BODY_TAG = re.compile(rb"<body[^>]*>", re.IGNORECASE)
_BANNER_SCAN = 64 * 1024
_NO_BODY = frozenset({204, 304})
_FLUSH_BYTES = 256 * 1024
BANNER_CSS = """body.mykerio-page{margin:0;font:15px/1.5 system-ui,sans-serif;color:#1d2733}
.mykerio-page main{padding:1rem 1.5rem;max-width:44rem}.mykerio-page h1{font-size:1.5rem}
#mykerio-banner{all:initial;display:flex;gap:.8rem;align-items:center;
font:14px/1.4 system-ui,sans-serif;background:#0b2a44;color:#fff;padding:.4rem .8rem}
#mykerio-banner a{color:#fff;font-weight:600;text-decoration:none;white-space:nowrap}
#mykerio-banner span{color:#cfe0ef;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
"""
SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
    "Strict-Transport-Security": "max-age=31536000",
    "Cross-Origin-Opener-Policy": "same-origin",
}

log = structlog.get_logger("web.tunnel")


@dataclasses.dataclass
class TunnelOrigin:
    """What the tunnel origin's handlers (and the dashboard's "Open administration") share."""

    sessions: TunnelSessions
    streams: ApplianceStreams
    hub_key_pem: bytes
    clock: Clock
    public_url: str  # the tunnel origin, e.g. https://localhost:8444
    dashboard_url: str  # the hub's public URL (the return arrow)
    max_streams: int = 6
    idle_timeout: float = 60.0
    # WebSockets of one appliance at once (the 8 streams of a link less `max_streams`).
    max_sockets: int = 2
    # Whether a hub session (by its cookie value) is still valid: when it ends unless used, or
    # None when it is gone; asked at most once a minute per tunnel session.
    check_session: Callable[[str], Awaitable[datetime | None]] | None = None
    _lines: dict[str, asyncio.Semaphore] = dataclasses.field(default_factory=dict)
    _sockets: dict[str, int] = dataclasses.field(default_factory=dict)

    def take_socket(self, appliance_id: str) -> bool:
        """Count one more WebSocket of the appliance, if under `max_sockets`."""
        open_now = self._sockets.get(appliance_id, 0)
        if open_now >= self.max_sockets:
            return False
        self._sockets[appliance_id] = open_now + 1
        return True

    def give_socket(self, appliance_id: str) -> None:
        """One WebSocket of the appliance closed."""
        self._sockets[appliance_id] = max(0, self._sockets.get(appliance_id, 1) - 1)

    def line(self, appliance_id: str) -> asyncio.Semaphore:
        """The requests of one appliance: `max_streams` at once."""
        found = self._lines.get(appliance_id)
        if found is None:
            found = self._lines[appliance_id] = asyncio.Semaphore(self.max_streams)
        return found

    def state(self, appliance_id: str) -> str:
        """`available`, `off` (refused on the appliance) or `unsupported`, for a connected
        appliance."""
        features = self.streams.features(appliance_id)
        if "tunnel" in features:
            return "available"
        return "off" if "tunnel_off" in features else "unsupported"


class _TunnelPage(tornado.web.RequestHandler):
    """The tunnel origin's own pages and headers."""

    origin: TunnelOrigin

    def initialize(self, origin: TunnelOrigin) -> None:
        self.origin = origin

    def set_default_headers(self) -> None:
        for name, value in SECURITY.items():
            self.set_header(name, value)
        self.clear_header("Server")

    def check_xsrf_cookie(self) -> None:
        """(The appliance's own pages carry their own protection; the hub's are GETs.)"""

    def explain(self, status: int, title: str, text: str) -> None:
        """A page of the hub's that says what happened and leads back to the dashboard."""
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'",
        )
        dashboard = html.escape(self.origin.dashboard_url + "/")
        self.finish(
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport"'
            ' content="width=device-width, initial-scale=1"><title>MyKerio</title>'
            '<link rel="stylesheet" href="/__mykerio/banner.css"></head><body class="mykerio-page">'
            f'<div id="mykerio-banner"><a href="{dashboard}" id="mykerio-return">'
            "&larr; MyKerio</a></div>"
            f'<main><h1 id="tunnel-title">{html.escape(title)}</h1>'
            f'<p id="tunnel-message">{html.escape(text)}</p>'
            f'<p><a href="{dashboard}">Back to the MyKerio dashboard</a></p></main></body></html>'
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.explain(status_code, "Something went wrong", "The request could not be served.")


class BannerStyle(_TunnelPage):
    """`/__mykerio/banner.css`."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/css; charset=utf-8")
        self.set_header("Cache-Control", "max-age=3600")
        self.finish(BANNER_CSS)


class EnterHandler(_TunnelPage):
    """`/__mykerio/enter?ticket=T`: a ticket's one use."""

    async def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        redeemed = self.origin.sessions.redeem(self.get_query_argument("ticket", ""))
        if redeemed is None:
            self.explain(
                403,
                "This link cannot be used",
                "It was used already or has expired. Open the administration again from the"
                " MyKerio dashboard.",
            )
            return
        token, session = redeemed
        grant = session.grant
        self.set_cookie(COOKIE, token, path="/", secure=True, httponly=True, samesite="Strict")
        identity = Identity(grant.user_id, grant.email, grant.name, grant.org_name)
        assertion = sign_assertion(
            self.origin.hub_key_pem,
            identity,
            self.origin.clock.now().timestamp(),
            grant.appliance_id,
        )
        try:
            head = await _login(self.origin, session, assertion, self.request.remote_ip or "")
        except (StreamError, ProtocolError, TimeoutError, DomainError):
            head = None
        if head is None or head.status >= 400:
            self.explain(
                502,
                "The appliance did not sign you in",
                "It refused MyKerio's sign-in or did not answer. Try again from the dashboard.",
            )
            return
        self.redirect("/admin/", status=303)


async def _login(
    origin: TunnelOrigin, session: TunnelSession, assertion: dict[str, object], ip: str
) -> ResponseHead | None:
    """Sign in on the appliance with the assertion; its session cookie goes to the jar."""
    headers = (("x-mykerio-client", ip),)
    meta = request_meta("GET", LOGIN_PATH, headers, assertion)
    stream = origin.streams.open(session.grant.appliance_id, KIND, meta)
    stream.close()
    reader = ResponseHeadReader()
    found = None
    async with asyncio.timeout(origin.idle_timeout):
        while found is None:
            chunk = await stream.read()
            if not chunk:
                return None
            found = reader.feed(chunk)
        while await stream.read():
            pass
    head = found[0]
    for name, value in head.headers:
        if name == "set-cookie":
            session.keep_cookie(value)
    return head


@tornado.web.stream_request_body
class TunnelHandler(_TunnelPage):
    """Every other path: one request to the appliance, one stream."""

    session: TunnelSession | None = None
    stream: Stream | None = None
    failed: str | None = None
    _holding: asyncio.Semaphore | None = None

    async def prepare(self) -> None:
        origin = self.origin
        path = self.request.uri or "/"
        session = await _admitted(self)
        if session is None:
            return
        appliance_id = session.grant.appliance_id
        line = origin.line(appliance_id)
        try:
            async with asyncio.timeout(QUEUE_SECONDS):
                await line.acquire()
        except TimeoutError:
            self.explain(503, "The appliance is busy", "Too many requests wait; try again.")
            return
        self._holding = line
        headers = forwarded_headers(list(self.request.headers.get_all()), REQUEST_HEADERS)
        if "Transfer-Encoding" in self.request.headers:
            # (Tornado de-chunked the body; the stream's end is the body's end.)
            headers = tuple(pair for pair in headers if pair[0] != "content-length")
        cookies = session.cookie_header()
        extra: tuple[tuple[str, str], ...] = (("x-mykerio-client", self.request.remote_ip or ""),)
        if cookies is not None:
            extra = (("cookie", cookies), *extra)
        try:
            meta = request_meta(self.request.method or "GET", path, headers + extra)
            self.stream = origin.streams.open(appliance_id, KIND, meta)
        except (ProtocolError, DomainError) as error:
            self._release()
            if isinstance(error, ProtocolError):
                self.explain(431, "Request refused", "Its headers are too large.")
            else:
                self.explain(503, "The appliance is not connected", error.message)
            return
        self.session = session
        session.streams.add(self.stream)

    async def data_received(self, chunk: bytes) -> None:
        if self.stream is None or self.failed:
            return
        try:
            await self._within(self.stream.write(chunk))
        except (StreamError, TimeoutError) as error:
            self.failed = str(error)

    async def get(self) -> None:
        await self._forward()

    post = put = patch = delete = options = head = get

    async def _forward(self) -> None:
        stream = self.stream
        if stream is None:
            return
        try:
            if self.failed:
                raise StreamError(stream.stream_id, self.failed)
            stream.close()
            reader = ResponseHeadReader()
            found = None
            while found is None:
                chunk = await self._within(stream.read())
                if not chunk:
                    raise StreamError(stream.stream_id, "ended before its head")
                found = reader.feed(chunk)
            head, rest = found
            banner = self._start(head)
            pending = rest
            unflushed = 0
            while True:
                if banner is not None:
                    pending, banner = _insert_banner(pending, banner, final=False)
                if pending:
                    self.write(pending)
                    unflushed += len(pending)
                # Flush when the next read would wait (nothing is held back while the
                # appliance is slow) or every 256 KiB (memory stays bounded).
                if unflushed and (unflushed >= _FLUSH_BYTES or not stream.readable()):
                    await self._within(self.flush())
                    unflushed = 0
                chunk = await self._within(stream.read())
                if not chunk:
                    break
                pending = chunk
            if banner is not None:
                pending, _ = _insert_banner(b"", banner, final=True)
                self.write(pending)
            self.finish()
        except (StreamError, ProtocolError, TimeoutError, tornado.iostream.StreamClosedError):
            stream.reset("cancelled")
            if not self._headers_written:
                self.clear()
                self.explain(502, "The appliance did not answer", "Try again in a moment.")
            else:
                with contextlib.suppress(Exception):  # (cut the connection: honest truncation)
                    self.request.connection.stream.close()  # type: ignore[union-attr]
        finally:
            self._release()

    def _start(self, head: ResponseHead) -> list[bytes] | None:
        """Set the status and headers; the banner to insert for an HTML page (else None)."""
        self.clear()
        self.set_status(head.status)
        assert self.session is not None
        html_page = False
        for name, value in head.headers:
            if name == "set-cookie":
                self.session.keep_cookie(value)
            elif name == "location":
                self.set_header("Location", _local(value))
            elif name == "content-length":
                continue
            else:
                if name == "content-type" and value.lower().startswith("text/html"):
                    html_page = True
                self.add_header(name, value)
        length = next((v for n, v in head.headers if n == "content-length"), None)
        if length is not None and not html_page and head.status not in _NO_BODY:
            self.set_header("Content-Length", length)
        if not html_page or head.status in _NO_BODY or self.request.method == "HEAD":
            return None
        return [self._banner(), b""]

    def _banner(self) -> bytes:
        assert self.session is not None
        grant = self.session.grant
        dashboard = html.escape(self.origin.dashboard_url + "/")
        return (
            '<div id="mykerio-banner"><link rel="stylesheet" href="/__mykerio/banner.css">'
            f'<a href="{dashboard}" id="mykerio-return">&larr; MyKerio</a>'
            f"<span>{html.escape(grant.appliance_name)}: administration opened in MyKerio by"
            f" {html.escape(grant.name)}</span></div>"
        ).encode()

    async def _within(self, step: Awaitable[Any]) -> Any:
        async with asyncio.timeout(self.origin.idle_timeout):
            return await step

    def _release(self) -> None:
        if self.session is not None and self.stream is not None:
            self.session.streams.discard(self.stream)
        if self._holding is not None:
            self._holding.release()
            self._holding = None

    def on_connection_close(self) -> None:
        if self.stream is not None:
            self.stream.reset("cancelled")
        self._release()


async def _admitted(handler: _TunnelPage) -> TunnelSession | None:
    """The request's live session, if its path may be opened and the appliance is there;
    otherwise None, after a page that says why."""
    origin = handler.origin
    session = origin.sessions.session(handler.get_cookie(COOKIE))
    check = origin.check_session
    if (
        session is not None
        and check is not None
        and not await origin.sessions.checked(session, check)
    ):
        session = None
    if session is None:
        handler.explain(
            401,
            "Open the administration from MyKerio",
            "This tunnel has ended or was never opened for you. Open the appliance's"
            " administration from the MyKerio dashboard.",
        )
        return None
    if STATISTICS.match(handler.request.uri or "/"):
        handler.explain(
            403,
            "Kerio Control Statistics is not available here",
            "Kerio Control Statistics cannot be opened from an administration opened in"
            " MyKerio. Open it on the appliance itself.",
        )
        return None
    if handler.origin.state(session.grant.appliance_id) != "available":
        handler.explain(
            503,
            "The appliance is not connected",
            f"{session.grant.appliance_name} is not connected to MyKerio now; its"
            " administration opens again once it is back.",
        )
        return None
    return session


class TunnelSocketHandler(tornado.websocket.WebSocketHandler, _TunnelPage):
    """A WebSocket the appliance's administration opens: one `tunnel_ws` stream, its
    messages as frames both ways; the upgrade is answered only once the appliance accepted."""

    session: TunnelSession | None = None
    stream: Stream | None = None
    _pump: asyncio.Task[None] | None = None
    _counted = ""  # the appliance whose WebSocket count this one holds

    async def get(self, *args: Any, **kwargs: Any) -> None:
        session = await _admitted(self)
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


class _TunnelApplication(tornado.web.Application):
    """Routes a WebSocket upgrade to `TunnelSocketHandler`, anything else by path."""

    def __init__(self, origin: TunnelOrigin, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.origin = origin

    def find_handler(
        self, request: tornado.httputil.HTTPServerRequest, **kwargs: Any
    ) -> tornado.web._HandlerDelegate:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return self.get_handler_delegate(request, TunnelSocketHandler, {"origin": self.origin})
        return super().find_handler(request, **kwargs)


def _insert_banner(
    data: bytes, banner: list[bytes], *, final: bool
) -> tuple[bytes, list[bytes] | None]:
    """Look for `<body ...>` in what came so far (banner[1]) and put the banner after it;
    after 64 KiB without one, or at the end, the page goes out as it is."""
    seen = banner[1] + data
    found = _BODY_TAG.search(seen)
    if found is not None:
        return seen[: found.end()] + banner[0] + seen[found.end() :], None
    if final or len(seen) > _BANNER_SCAN:
        return seen, None
    banner[1] = seen
    return b"", banner


def _local(location: str) -> str:
    """A redirect of the appliance's, kept on the tunnel origin (its path only)."""
    parts = urllib.parse.urlsplit(location)
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    return urllib.parse.urlunsplit(("", "", path.replace("//", "/"), parts.query, ""))


def make_tunnel_app(origin: TunnelOrigin) -> tornado.web.Application:
    """The tunnel origin's application."""
    args = {"origin": origin}
    return _TunnelApplication(
        origin,
        [
            (r"/__mykerio/enter", EnterHandler, args),
            (r"/__mykerio/banner\.css", BannerStyle, args),
            (r"/", _Root, args),
            (r".*", TunnelHandler, args),
        ],
        compress_response=False,
        xsrf_cookies=False,
        log_function=_log_request,
    )


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """One access line per request, without the query (a ticket is in one: never logged)."""
    request = handler.request
    log.info(
        "tunnel request",
        method=request.method,
        path=request.path,
        status=handler.get_status(),
        ms=round(request.request_time() * 1000, 2),
    )


class _Root(_TunnelPage):
    """`/`: the administration's start page."""

    def get(self) -> None:
        self.redirect("/admin/", status=302)
