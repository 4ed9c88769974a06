"""Sending SMS codes: the `SmsSender` interface, its development adapter, and gateway bodies.

The hub sends SMS through an HTTP gateway of the operator's choice (`[sms]` settings; the
adapter lives in `web/sms_gateway.py` because it uses Tornado's HTTP client). Without a
gateway, `OutboxSmsSender` appends each message to a file in the data directory so a developer
can read the code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote_plus

from mykerio.errors import Unavailable


class SmsError(Unavailable):
    """The SMS could not be handed to the gateway."""

    code = "sms_unavailable"


class SmsSender(Protocol):
    """Hands one text message to whatever delivers SMS."""

    async def send(self, to: str, text: str) -> None:
        """Send `text` to the E.164 number `to`; raise `SmsError` if it cannot be handed over."""
        ...


def render_gateway_body(template: str, content_type: str, *, to: str, text: str) -> bytes:
    """Fill `{to}` and `{text}` in `template`, escaped for the body's content type."""

    def escape(value: str) -> str:
        if "json" in content_type:
            return json.dumps(value)[1:-1]
        if "x-www-form-urlencoded" in content_type:
            return quote_plus(value)
        return value

    return template.replace("{to}", escape(to)).replace("{text}", escape(text)).encode()


class OutboxSmsSender:
    """Development adapter: one JSON line per message in `path`."""

    def __init__(self, path: Path, now: Callable[[], datetime]) -> None:
        self.path = path
        self._now = now

    async def send(self, to: str, text: str) -> None:
        """Append the message (off the event loop)."""
        line = json.dumps({"at": self._now().isoformat(), "to": to, "text": text}) + "\n"
        await asyncio.get_running_loop().run_in_executor(None, self._append, line)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line)
