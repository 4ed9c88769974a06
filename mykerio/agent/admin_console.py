"""The simulated appliance's administration console (`/admin/...`), as MyKerio opens it.

What "Open administration" exercises (guide 2.1, 2.8): pages with assets, a page of 50 assets,
a JSON-RPC endpoint like Kerio's (`/admin/api/jsonrpc/`), a form post, a large generated
download, Kerio Control Statistics (which MyKerio refuses to open), the appliance's own audit
log, and a login that accepts only MyKerio's signed assertion: there is no password form. A
session is a cookie the appliance sets (`KSESSION`, path `/admin`); through MyKerio it stays in
the hub's cookie jar, never in the browser.

Routes (all under `/admin`): `/` home, `/icons` (50 icons; public, like Kerio's login page
assets), `/icon/N.svg`, `/static/console.css|console.js`, `/login/mykerio` (the assertion's
login), `/logout`, `/settings` (GET form, POST urlencoded), `/api/jsonrpc/` (POST),
`/download/big.bin?size=N`, `/statistics`, `/audit`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
from collections.abc import Awaitable, Callable
from typing import Any

from tornado.iostream import StreamClosedError
from tornado.template import Template
from tornado.web import RequestHandler
from tornado.websocket import WebSocketHandler

from mykerio.agent.tunnel import ApplianceTunnel, TunnelContext
from mykerio.protocol.stream_link import StreamError
from mykerio.protocol.tunnel import Identity

COOKIE = "KSESSION"
ICONS = 50
DOWNLOAD_BYTES = 50 * 1024 * 1024
_CHUNK = 256 * 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)
STYLE = """body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2733;background:#f3f5f8}
header.k{background:#21486b;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;flex-wrap:wrap}
header.k .who{margin-left:auto}nav.k{display:flex;gap:.8rem;flex-wrap:wrap;padding:.6rem 1rem;
background:#fff;border-bottom:1px solid #d5dbe3}main{padding:1rem;max-width:60rem}
.icons{display:flex;flex-wrap:wrap;gap:6px}.icons img{width:32px;height:32px}
table{border-collapse:collapse}td,th{border-bottom:1px solid #d5dbe3;padding:.3rem .6rem;
text-align:left}label{display:block;margin:.5rem 0}.ok{color:#17643a}
"""
SCRIPT = """document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("rpc");
  const live = document.getElementById("ws");
  if (live) live.addEventListener("click", () => {
    const log = document.getElementById("ws-log");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/admin/ws`);
    socket.addEventListener("open", () => socket.send("ping"));
    socket.addEventListener("message", (event) => {
      const line = document.createElement("li");
      line.textContent = event.data;
      log.append(line);
      if (event.data === "ping") socket.close();
    });
  });
  if (button) button.addEventListener("click", async () => {
    const answer = await fetch("/admin/api/session/jsonrpc/", {method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({jsonrpc: "2.0", id: 1, method: "Session.whoAmI", params: {}})});
    const body = await answer.json();
    document.getElementById("rpc-result").textContent = body.result
      ? body.result.user.fullName + " (" + body.result.user.email + ")" : body.error.message;
  });
});
"""
LAYOUT = Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} - Kerio Control Administration</title>
<link rel="stylesheet" href="/admin/static/console.css">
<script src="/admin/static/console.js" defer></script></head>
<body><header class="k"><strong>Kerio Control Administration</strong>
<span class="who" id="who">{{ who }}</span></header>
<nav class="k"><a href="/admin/">Dashboard</a><a href="/admin/settings">Settings</a>
<a href="/admin/icons">Icons</a><a href="/admin/statistics">Statistics</a>
<a href="/admin/audit">Audit log</a><a href="/admin/download/big.bin">Download 50 MB</a></nav>
<main><h1>{{ title }}</h1>{% raw body %}</main></body></html>"""
)


class ConsoleHandler(RequestHandler):
    """Security headers, and who is signed in (only ever through MyKerio)."""

    tunnel: ApplianceTunnel

    def initialize(self, tunnel: ApplianceTunnel, link: Any = None) -> None:
        self.tunnel = tunnel

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")

    def check_xsrf_cookie(self) -> None:
        """(Forms carry their session's own token: `form_token`.)"""

    @property
    def ip(self) -> str:
        return self.request.remote_ip or ""

    def signed_in(self) -> Identity | None:
        """The person of this request's session cookie."""
        return self.tunnel.sessions.who(self.get_cookie(COOKIE))

    def require(self) -> Identity | None:
        """The signed-in person, or None after answering 401 with a page that says how."""
        who = self.signed_in()
        if who is None:
            self.set_status(401)
            self.page(
                "Sign in",
                "<p>This administration signs you in only through MyKerio: open it from the"
                " MyKerio dashboard.</p>",
                who=None,
            )
        return who

    def page(self, title: str, body: str, who: Identity | None) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(LAYOUT.generate(title=title, body=body, who=_shown(who)))


def _shown(who: Identity | None) -> str:
    return f"{who.name} via MyKerio" if who is not None else "Not signed in"


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


class Home(ConsoleHandler):
    def get(self) -> None:
        who = self.require()
        if who is None:
            return
        self.page(
            "Dashboard",
            f"<p>Signed in as <strong>{_escape(who.name)} via MyKerio</strong>"
            f" ({_escape(who.email)}, organization {_escape(who.organization)}).</p>"
            '<p><button type="button" id="rpc">Ask the appliance who I am</button>'
            ' <span id="rpc-result"></span></p>'
            '<p><button type="button" id="ws">Test the live connection</button></p>'
            '<ul id="ws-log"></ul>',
            who,
        )


class Login(ConsoleHandler):
    """`/admin/login/mykerio`: sign in the person MyKerio's verified assertion names."""

    def get(self) -> None:
        context = getattr(self.request.connection, "context", None)
        identity = context.identity if isinstance(context, TunnelContext) else None
        if identity is None:
            self.set_status(403)
            self.page(
                "Sign in refused",
                "<p>Only MyKerio can sign you in here, with its signed assertion.</p>",
                who=None,
            )
            return
        token = self.tunnel.sessions.open(identity)
        self.set_cookie(COOKIE, token, path="/admin", httponly=True, samesite="Strict")
        self.tunnel.record(_shown(identity), "signed in", self.ip)
        self.redirect("/admin/", status=303)

    post = get


class Logout(ConsoleHandler):
    def post(self) -> None:
        self.tunnel.sessions.close(self.get_cookie(COOKIE))
        self.clear_cookie(COOKIE, path="/admin")
        self.redirect("/admin/", status=303)


class Icons(ConsoleHandler):
    def get(self) -> None:
        images = "".join(
            f'<img src="/admin/icon/{index}.svg" alt="icon {index}">' for index in range(ICONS)
        )
        self.page("Icons", f'<div class="icons">{images}</div>', self.signed_in())


class Icon(ConsoleHandler):
    def get(self, number: str) -> None:
        index = int(number)
        if index >= ICONS:
            self.send_error(404)
            return
        hue = index * 360 // ICONS
        self.set_header("Content-Type", "image/svg+xml")
        self.set_header("Cache-Control", "no-cache")
        # (~1.5 KB each, like a real icon, so the page moves some bytes.)
        dots = "".join(
            f'<circle cx="{i % 8 * 4 + 2}" cy="{i // 8 * 4 + 2}" r="1"/>' for i in range(48)
        )
        self.finish(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
            f'<rect width="32" height="32" rx="6" fill="hsl({hue},60%,45%)"/>'
            f'<g fill="#fff" opacity=".5">{dots}</g><text x="16" y="21" font-size="12"'
            f' text-anchor="middle" fill="#fff">{index}</text></svg>'
        )


class Static(ConsoleHandler):
    def get(self, name: str) -> None:
        files = {
            "console.css": ("text/css; charset=utf-8", STYLE),
            "console.js": ("text/javascript; charset=utf-8", SCRIPT),
        }
        if name not in files:
            self.send_error(404)
            return
        self.set_header("Content-Type", files[name][0])
        self.finish(files[name][1])


class Settings(ConsoleHandler):
    """A form post: the host name, with a token of the session against cross-site posts."""

    def get(self, saved: str = "") -> None:
        who = self.require()
        if who is None:
            return
        token = _form_token(self)
        notice = f'<p class="ok" id="saved">{_escape(saved)}</p>' if saved else ""
        self.page(
            "Settings",
            f'{notice}<form method="post" action="/admin/settings">'
            f'<input type="hidden" name="token" value="{token}">'
            '<label>Host name <input name="hostname" id="hostname" maxlength="63"'
            f' value="{_escape(self.tunnel.host_name)}"></label>'
            '<button type="submit">Apply</button></form>',
            who,
        )

    def post(self) -> None:
        who = self.require()
        if who is None:
            return
        if self.get_body_argument("token", "") != _form_token(self):
            self.set_status(403)
            self.page("Settings", "<p>This form is out of date.</p>", who)
            return
        name = self.get_body_argument("hostname", "").strip()[:63]
        if not name:
            self.set_status(400)
            self.page("Settings", "<p>Type a host name.</p>", who)
            return
        self.tunnel.host_name = name
        self.tunnel.record(_shown(who), f"changed the host name to {name}", self.ip)
        self.get(saved=f"Saved: the host name is {name}.")


def _form_token(handler: ConsoleHandler) -> str:
    cookie = (handler.get_cookie(COOKIE) or "").encode()
    return hmac.new(handler.tunnel.form_key, cookie, hashlib.sha256).hexdigest()


class JsonRpc(ConsoleHandler):
    """`POST /admin/api/session/jsonrpc/`: JSON-RPC 2.0 like Kerio's API, for the signed-in
    person (the definitions' `/admin/api/jsonrpc/` is `mykerio.agent.admin_definitions`)."""

    def post(self) -> None:
        who = self.signed_in()
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            call = json.loads(self.request.body) if content_type == "application/json" else None
        except ValueError:
            call = None
        if not isinstance(call, dict) or call.get("jsonrpc") != "2.0":
            self._answer(None, error=(-32600, "Invalid request"))
            return
        if who is None:
            self._answer(call.get("id"), error=(-32001, "Session expired."))
            return
        method = call.get("method")
        if method == "Session.whoAmI":
            user = {"fullName": f"{who.name} via MyKerio", "email": who.email}
            self._answer(call.get("id"), result={"user": user})
        elif method == "ProductInfo.get":
            self._answer(call.get("id"), result={"productName": "Kerio Control"})
        else:
            self._answer(call.get("id"), error=(-32601, "Method not found"))

    def _answer(
        self, id_: object, *, result: object = None, error: tuple[int, str] | None = None
    ) -> None:
        body: dict[str, object] = {"jsonrpc": "2.0", "id": id_}
        if error is not None:
            body["error"] = {"code": error[0], "message": error[1]}
        else:
            body["result"] = result
        self.set_header("Content-Type", "application/json-rpc; charset=utf-8")
        self.finish(json.dumps(body))


class Download(ConsoleHandler):
    """`GET /admin/download/big.bin?size=N`: generated bytes, streamed chunk by chunk."""

    async def get(self) -> None:
        if self.require() is None:
            return
        size = min(int(self.get_query_argument("size", str(DOWNLOAD_BYTES)) or 0), 1 << 30)
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Disposition", 'attachment; filename="big.bin"')
        self.set_header("Content-Length", str(size))
        block = bytes(range(256)) * (_CHUNK // 256)
        left = size
        try:
            while left > 0:
                part = block[: min(left, _CHUNK)]
                self.write(part)
                left -= len(part)
                await self.flush()
        except (StreamError, StreamClosedError):
            return  # the browser gave the download up (through MyKerio, or directly)
        self.finish()


class Statistics(ConsoleHandler):
    def get(self) -> None:
        self.page("Kerio Control Statistics", "<p>Traffic charts by user.</p>", self.signed_in())


class Audit(ConsoleHandler):
    def get(self) -> None:
        who = self.require()
        if who is None:
            return
        rows = "".join(
            f"<tr><td>{entry.at:%Y-%m-%d %H:%M:%S}</td><td>{_escape(entry.who)}</td>"
            f"<td>{_escape(entry.what)}</td><td>{_escape(entry.ip)}</td></tr>"
            for entry in reversed(self.tunnel.sessions.audit)
        )
        self.page(
            "Audit log",
            f"<table><tr><th>When</th><th>Who</th><th>What</th><th>From</th></tr>{rows}</table>",
            who,
        )


async def echo(
    who: Identity | None,
    receive: Callable[[], Awaitable[str | bytes | None]],
    send: Callable[[str | bytes], Awaitable[None]],
) -> None:
    """`/admin/ws`: the console's WebSocket; says hello, then sends back every message."""
    await send(f"hello {_shown(who)}")
    while (message := await receive()) is not None:
        await send(message)


class EchoSocket(WebSocketHandler):
    """`/admin/ws` served directly (through MyKerio the tunnel serves `echo` itself)."""

    def initialize(self, tunnel: ApplianceTunnel, link: Any = None) -> None:
        self.tunnel = tunnel
        self.messages: asyncio.Queue[str | bytes | None] = asyncio.Queue()

    def open(self, *args: str, **kwargs: str) -> None:
        who = self.tunnel.sessions.who(self.get_cookie(COOKIE))
        self.task = asyncio.ensure_future(echo(who, self.messages.get, self._send))

    async def _send(self, message: str | bytes) -> None:
        await self.write_message(message, binary=isinstance(message, bytes))

    def on_message(self, message: str | bytes) -> None:
        self.messages.put_nowait(message)

    def on_close(self) -> None:
        self.messages.put_nowait(None)


def console_routes(
    tunnel: ApplianceTunnel,
) -> list[tuple[str, type[RequestHandler], dict[str, Any]]]:
    """The console's routes for the admin UI's application."""
    args = {"tunnel": tunnel}
    tunnel.sockets["/admin/ws"] = echo
    return [
        (r"/admin/ws", EchoSocket, args),
        (r"/admin/?", Home, args),
        (r"/admin/login/mykerio", Login, args),
        (r"/admin/logout", Logout, args),
        (r"/admin/icons", Icons, args),
        (r"/admin/icon/([0-9]{1,3})\.svg", Icon, args),
        (r"/admin/static/([a-z.]+)", Static, args),
        (r"/admin/settings", Settings, args),
        (r"/admin/api/session/jsonrpc/?", JsonRpc, args),
        (r"/admin/download/big\.bin", Download, args),
        (r"/admin/statistics/?.*", Statistics, args),
        (r"/admin/audit", Audit, args),
    ]
