"""The tunnel origin's shared parts: its settings and state (`TunnelOrigin`), the pages it
answers itself (what went wrong, with the way back to the dashboard), and the checks every
request and WebSocket passes (`admitted`): a live tunnel session whose hub session is still
valid, a path that is not Kerio Control Statistics, the appliance connected.

The handlers are in `web.tunnel_proxy` (requests) and `web.tunnel_sockets` (WebSockets).
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog
import tornado.httputil
import tornado.iostream
import tornado.web
import tornado.websocket

from mykerio.clock import Clock
from web.appliance_streams import ApplianceStreams
from web.tunnel_sessions import TunnelSession, TunnelSessions

COOKIE = "__Host-mk_tunnel"
# Kerio Control Statistics (guide 2.8: not reachable from an administration opened in MyKerio).
STATISTICS = re.compile(r"^/(admin/)?(statistics|stats)(/|$|\?)", re.IGNORECASE)
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


class TunnelPage(tornado.web.RequestHandler):
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


class BannerStyle(TunnelPage):
    """`/__mykerio/banner.css`."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/css; charset=utf-8")
        self.set_header("Cache-Control", "max-age=3600")
        self.finish(BANNER_CSS)


async def admitted(handler: TunnelPage) -> TunnelSession | None:
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
