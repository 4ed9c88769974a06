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
- a WebSocket upgrade: `web.tunnel_sockets`;
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
import html
import re
import urllib.parse
from collections.abc import Awaitable
from typing import Any

import structlog
import tornado.httputil
import tornado.iostream
import tornado.web
import tornado.websocket

from mykerio.errors import DomainError
from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.stream_link import Stream, StreamError
from mykerio.protocol.tunnel import (
    KIND,
    REQUEST_HEADERS,
    Identity,
    ResponseHead,
    ResponseHeadReader,
    forwarded_headers,
    request_meta,
    sign_assertion,
)
from web.tunnel_origin import COOKIE, BannerStyle, TunnelOrigin, TunnelPage, admitted
from web.tunnel_sessions import TunnelSession
from web.tunnel_sockets import TunnelSocketHandler

LOGIN_PATH = "/admin/login/mykerio"
QUEUE_SECONDS = 30.0
_BODY_TAG = re.compile(rb"<body[^>]*>", re.IGNORECASE)
_BANNER_SCAN = 64 * 1024
_NO_BODY = frozenset({204, 304})
_FLUSH_BYTES = 256 * 1024

log = structlog.get_logger("web.tunnel")


class EnterHandler(TunnelPage):
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
class TunnelHandler(TunnelPage):
    """Every other path: one request to the appliance, one stream."""

    session: TunnelSession | None = None
    stream: Stream | None = None
    failed: str | None = None
    _holding: asyncio.Semaphore | None = None

    async def prepare(self) -> None:
        origin = self.origin
        path = self.request.uri or "/"
        session = await admitted(self)
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
        except (
            StreamError,
            ProtocolError,
            TimeoutError,
            tornado.iostream.StreamClosedError,
            tornado.httputil.HTTPOutputError,  # (a body longer than its Content-Length said)
        ):
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


class _Root(TunnelPage):
    """`/`: the administration's start page."""

    def get(self) -> None:
        self.redirect("/admin/", status=302)
