"""The simulator's SMTP relay pages: the settings with "MyKerio notification service" and the
"Test" button, and the debug log with the relay's answers word for word (guide 3.3, 5.1).

`GET /smtp-relay` is Kerio Control's Remote Services → SMTP Relay (Kerio Operator's Advanced
Options → General → Email service): the choice of MyKerio or the appliance's own SMTP server,
the alert recipients (each status knob switched on mails them) and "Test", which sends a test
email and shows success or the relay's refusal. `GET /debug-log` lists the `{MyKerio}` lines.
Plain forms posted back to the page (no script); the JSON forms are `GET /api/relay` and
`POST /api/relay/test {"address"}`.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from tornado.template import Template
from tornado.web import RequestHandler

from mykerio.agent.relay import ApplianceRelay, Outcome

CSP = (
    "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
MAX_RECIPIENTS = 10

_FRAME = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} - {{ product }}</title>
<link rel="stylesheet" href="/static/settings.css">
</head>
<body>
<header class="topbar">
  <span class="brand">{{ product }}</span>
  <span class="host">{{ host }}</span>
</header>
<div class="frame">
<nav class="sidebar" aria-label="Configuration">
  <span class="group">Configuration</span>
  <a href="/">MyKerio</a>
  <a href="/smtp-relay"{% if here == "relay" %} aria-current="page"{% end %}>{{ relay_title }}</a>
  <span class="group">Logs</span>
  <a href="/debug-log"{% if here == "debug" %} aria-current="page"{% end %}>Debug</a>
</nav>
<main>
"""

RELAY_PAGE = Template(
    _FRAME
    + """<h1>{{ relay_title }}</h1>
<form class="panel" method="post" action="/smtp-relay" aria-label="SMTP relay settings">
  <label class="check"><input type="radio" name="service" value="mykerio"
    {% if relay.service == "mykerio" %}checked{% end %}> {{ mykerio_label }}</label>
  <label class="check"><input type="radio" name="service" value="smtp"
    {% if relay.service == "smtp" %}checked{% end %}> SMTP server</label>
  <p class="hint">MyKerio notification service can send alerts and notifications from your
  appliance without any need to configure the SMTP relay. The amount of emails this service
  can send is limited per 24 hours.</p>
  <p><label>Alert recipients (comma-separated)<br>
    <input type="text" name="recipients" size="50"
      value="{{ ", ".join(relay.alert_recipients) }}"></label></p>
  <p><label>From address<br>
    <input type="text" name="from_address" size="50" value="{{ relay.from_address }}"></label></p>
  <p><button type="submit">Apply</button></p>
</form>
<form class="panel" method="post" action="/smtp-relay/test" aria-label="Test">
  <h2>Test</h2>
  <p><label>Email Address<br><input type="text" name="address" size="50"
    value="{{ test.address if test else "" }}"></label></p>
  <p><button type="submit">Test</button></p>
  {% if test and test.accepted %}<p class="ok" id="test-result" role="status">A test email was
  sent to {{ test.address }}. You should receive it in your inbox.</p>{% end %}
  {% if test and not test.accepted %}<p class="error" id="test-result"
    role="alert">{{ test.message }}</p>{% end %}
</form>
</main>
</div>
</body>
</html>
"""
)

DEBUG_PAGE = Template(
    _FRAME
    + """<h1>Debug log</h1>
<section class="panel" aria-label="Debug log">
  <p class="hint">MyKerio activity: requests, responses, errors (newest last).</p>
  <pre id="debug-log">{% for line in lines %}{{ line }}
{% end %}</pre>
</section>
</main>
</div>
</body>
</html>
"""
)


class _RelayHandler(RequestHandler):
    relay: ApplianceRelay

    def initialize(self, link: Any) -> None:
        self.link = link
        self.relay = link.relay

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        # (not no-referrer: Chromium would then post the forms with `Origin: null`)
        self.set_header("Referrer-Policy", "same-origin")
        self.set_header("Cache-Control", "no-store")

    def _same_origin(self) -> bool:
        origin = self.request.headers.get("Origin")
        return origin is None or urllib.parse.urlsplit(origin).netloc == self.request.host

    def _page(self, template: Template, here: str, **values: Any) -> None:
        view = self.link.view
        operator = view.profile.product == "operator"
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            template.generate(
                title="Email service" if operator else "SMTP Relay",
                relay_title="Email service" if operator else "SMTP Relay",
                mykerio_label="MyKerio" if operator else "MyKerio notification service",
                product=view.profile.title,
                host=view.profile.host_name or "",
                here=here,
                relay=self.relay,
                **values,
            )
        )


class RelayPage(_RelayHandler):
    """The SMTP relay settings and "Test"."""

    def get(self) -> None:
        self._page(RELAY_PAGE, "relay", test=self.relay.last_test)

    def post(self) -> None:
        if not self._same_origin():
            self.send_error(403)
            return
        service = self.get_body_argument("service", self.relay.service)
        if service in ("mykerio", "smtp"):
            self.relay.service = service  # type: ignore[assignment]  # (one of the two)
        recipients = self.get_body_argument("recipients", "")
        self.relay.alert_recipients = tuple(
            part.strip() for part in recipients.split(",") if part.strip()
        )[:MAX_RECIPIENTS]
        self.relay.from_address = self.get_body_argument("from_address", "").strip()[:254]
        self.redirect("/smtp-relay", status=303)


class TestPage(_RelayHandler):
    """`POST /smtp-relay/test`: the Test button."""

    async def post(self) -> None:
        if not self._same_origin():
            self.send_error(403)
            return
        address = self.get_body_argument("address", "").strip()[:254]
        await self.relay.test(address or "(empty)")
        self.redirect("/smtp-relay", status=303)


class DebugLogPage(_RelayHandler):
    """The `{MyKerio}` lines of the debug log."""

    def get(self) -> None:
        self._page(DEBUG_PAGE, "debug", lines=list(self.relay.debug_log))


class RelayApi(_RelayHandler):
    """`GET /api/relay`: the settings, the last test and the debug log."""

    def get(self) -> None:
        test = self.relay.last_test
        self.finish(
            {
                "service": self.relay.service,
                "alert_recipients": list(self.relay.alert_recipients),
                "from_address": self.relay.from_address,
                "last_test": None if test is None else _outcome(test),
                "debug_log": list(self.relay.debug_log),
            }
        )


class RelayTestApi(_RelayHandler):
    """`POST /api/relay/test {"address"}`: Test; the outcome."""

    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = None
        address = body.get("address") if isinstance(body, dict) else None
        if not self._same_origin() or not isinstance(address, str) or not address.strip():
            self.set_status(400)
            self.finish({"error": {"code": "invalid_input", "message": 'send {"address": "…"}'}})
            return
        self.finish(_outcome(await self.relay.test(address.strip()[:254])))


def _outcome(outcome: Outcome) -> dict[str, Any]:
    return {"address": outcome.address, "accepted": outcome.accepted, "message": outcome.message}


def relay_routes(args: dict[str, Any]) -> list[tuple[str, type[RequestHandler], dict[str, Any]]]:
    """The admin UI's routes for the SMTP relay."""
    return [
        (r"/smtp-relay", RelayPage, args),
        (r"/smtp-relay/test", TestPage, args),
        (r"/debug-log", DebugLogPage, args),
        (r"/api/relay", RelayApi, args),
        (r"/api/relay/test", RelayTestApi, args),
    ]
