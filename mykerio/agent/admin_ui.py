"""The simulated appliance's own admin web UI: the MyKerio settings page and its JSON API.

Served by Tornado on a loopback port. Routes:

- `GET /`: the settings page (`admin_page`), `GET /static/settings.js|settings.css`;
- `GET /api/state`: the `LinkView` as JSON (status text, link, connected, knobs, name, ids);
- `POST /api/knobs` `{knob: bool, ...}`, `POST /api/enable` `{"enabled": bool}`,
  `POST /api/backups` `{"enabled": bool}` ("Save configuration to MyKerio"),
  `POST /api/remove` `{}`: the user's actions; each answers the new state.

Every answer carries a strict Content-Security-Policy (no inline script). A POST must be
`application/json` (a cross-site form cannot send that without a CORS preflight, which this
server never grants) and, if the browser names an `Origin`, come from this server's origin.
Errors are the hub's JSON shape: `{"error": {"code": ..., "message": ...}}`.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

import structlog
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from mykerio.agent.admin_console import console_routes
from mykerio.agent.admin_definitions import definition_routes
from mykerio.agent.admin_page import KNOB_LABELS, PAGE, SCRIPT, STYLE
from mykerio.agent.admin_relay import relay_routes
from mykerio.agent.link import ApplianceLink
from mykerio.errors import DomainError

MAX_BODY_BYTES = 16 * 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)
_ASSETS = {
    "settings.js": ("text/javascript; charset=utf-8", SCRIPT),
    "settings.css": ("text/css; charset=utf-8", STYLE),
}

log = structlog.get_logger(__name__)


class _Handler(RequestHandler):
    """Security headers, JSON errors and JSON bodies for every route."""

    link: ApplianceLink

    def initialize(self, link: ApplianceLink) -> None:
        self.link = link

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        code = "internal_error" if status_code >= 500 else "http_error"
        self.finish({"error": {"code": code, "message": self._reason}})

    def fail(self, status: int, code: str, message: str) -> None:
        """Answer `{"error": {code, message}}` with `status`."""
        self.set_status(status)
        self.finish({"error": {"code": code, "message": message}})

    def json_body(self) -> dict[str, Any] | None:
        """The request's JSON object, or None after answering why there is none."""
        if not self._same_origin():
            self.fail(403, "cross_origin", "requests must come from this page")
            return None
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type.lower() != "application/json":
            self.fail(415, "unsupported_media_type", "send the body as application/json")
            return None
        if len(self.request.body) > MAX_BODY_BYTES:
            self.fail(413, "too_large", "the body is too large")
            return None
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self.fail(400, "invalid_input", "the body must be a JSON object")
            return None
        return body

    def answer_state(self) -> None:
        """Answer the link's current view (and "Save configuration to MyKerio")."""
        self.finish({**self.link.view.to_json(), "backups": self.link.backups.to_json()})

    def _same_origin(self) -> bool:
        origin = self.request.headers.get("Origin")
        if origin is None:
            return True  # not a browser, or a same-origin GET-like request
        return urllib.parse.urlsplit(origin).netloc == self.request.host


class SettingsPage(_Handler):
    """`GET /`: the MyKerio settings page."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            PAGE.generate(
                view=self.link.view, knob_labels=KNOB_LABELS, backups=self.link.backups.to_json()
            )
        )


class Asset(_Handler):
    """`GET /static/NAME`: the page's script and style sheet."""

    def get(self, name: str) -> None:
        if name not in _ASSETS:
            self.fail(404, "not_found", "no such file")
            return
        content_type, text = _ASSETS[name]
        self.set_header("Content-Type", content_type)
        self.finish(text)


class NoIcon(_Handler):
    """`GET /favicon.ico`: nothing, so browsers do not log a 404 for every page."""

    def get(self) -> None:
        self.set_status(204)
        self.finish()


class StateApi(_Handler):
    """`GET /api/state`."""

    def get(self) -> None:
        self.answer_state()


class KnobsApi(_Handler):
    """`POST /api/knobs {knob: bool, ...}`: flip status knobs."""

    def post(self) -> None:
        body = self.json_body()
        if body is None:
            return
        try:
            self.link.set_knobs(body)
        except DomainError as error:
            self.fail(error.status, error.code, error.message)
            return
        self.answer_state()


class EnableApi(_Handler):
    """`POST /api/enable {"enabled": bool}`: tick or untick "Enable communication with MyKerio"."""

    def post(self) -> None:
        body = self.json_body()
        if body is None:
            return
        enabled = body.get("enabled")
        if set(body) != {"enabled"} or not isinstance(enabled, bool):
            self.fail(400, "invalid_input", 'send {"enabled": true} or {"enabled": false}')
            return
        self.link.set_enabled(enabled)
        self.answer_state()


class BackupsApi(_Handler):
    """`POST /api/backups {"enabled": bool}`: tick or untick "Save configuration to MyKerio"."""

    def post(self) -> None:
        body = self.json_body()
        if body is None:
            return
        enabled = body.get("enabled")
        if set(body) != {"enabled"} or not isinstance(enabled, bool):
            self.fail(400, "invalid_input", 'send {"enabled": true} or {"enabled": false}')
            return
        self.link.backups.set_enabled(enabled)
        self.answer_state()


class RemoveApi(_Handler):
    """`POST /api/remove`: "Remove from MyKerio"."""

    def post(self) -> None:
        if self.json_body() is None:
            return
        try:
            self.link.remove()
        except DomainError as error:
            self.fail(error.status, error.code, error.message)
            return
        self.answer_state()


@dataclass
class AdminUi:
    """A running admin UI; `url` is where to open it."""

    server: HTTPServer
    url: str
    port: int

    async def close(self) -> None:
        """Stop listening and close open connections."""
        self.server.stop()
        await self.server.close_all_connections()


def make_app(link: ApplianceLink) -> Application:
    """The admin UI's Tornado application for `link`."""
    args = {"link": link}
    return Application(
        [
            (r"/", SettingsPage, args),
            (r"/static/([a-z.]+)", Asset, args),
            (r"/favicon.ico", NoIcon, args),
            (r"/api/state", StateApi, args),
            (r"/api/knobs", KnobsApi, args),
            (r"/api/enable", EnableApi, args),
            (r"/api/backups", BackupsApi, args),
            (r"/api/remove", RemoveApi, args),
            *definition_routes(args),
            *relay_routes(args),
            *console_routes(link.tunnel),
        ],
        default_handler_class=_NotFound,
        default_handler_args=args,
        compress_response=False,
    )


class _NotFound(_Handler):
    """Any other path: 404 in the JSON error shape."""

    def prepare(self) -> None:
        self.fail(404, "not_found", "no such page")


def start_admin_ui(link: ApplianceLink, port: int = 0, address: str = "127.0.0.1") -> AdminUi:
    """Serve the admin UI of `link` on `address:port` (0: any free port)."""
    sockets = bind_sockets(port, address)
    server = HTTPServer(make_app(link), max_body_size=MAX_BODY_BYTES)
    server.add_sockets(sockets)
    bound = int(sockets[0].getsockname()[1])
    host = f"[{address}]" if ":" in address else address
    url = f"http://{host}:{bound}/"
    log.info("admin UI listening", url=url)
    return AdminUi(server, url, bound)
