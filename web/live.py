"""The dashboard's live websocket (`/api/v1/live`): opened only with a valid session.

The session is checked when the socket opens (a revoked or expired session gets 401 and no
socket) and again on every message from the browser; once it has ended the socket is closed
with code 4401. Later issues push appliance updates through it.
"""

from __future__ import annotations

import json
from typing import Any

import tornado.websocket

from mykerio.accounts.sessions import CurrentSession
from mykerio.errors import DomainError, Unauthorized
from web.auth import AccountHandler
from web.openapi import op

SESSION_ENDED = 4401
MAX_MESSAGE_BYTES = 64 * 1024


class LiveSocketHandler(tornado.websocket.WebSocketHandler, AccountHandler):
    """Moves frames between the browser and the hub for one logged-in session."""

    openapi = {
        "get": op(
            "Open the dashboard's live websocket (session cookie required; 401 without one). "
            "Messages are JSON objects with a `type`; `ping` is answered with `pong`",
            "live",
            {"101": "Switching protocols", "401": "Not logged in or session ended"},
        )
    }

    async def prepare(self) -> None:
        """Refuse the upgrade unless the session is valid."""
        super().prepare()
        try:
            self.live_session: CurrentSession = await self.current_session()
        except Unauthorized as exc:
            self.send_error(exc.status, exc_info=(type(exc), exc, None))

    def get_compression_options(self) -> dict[str, Any] | None:
        """Compress frames (appliance lists can be long)."""
        return {}

    def open(self, *args: str, **kwargs: str) -> None:
        """Greet the browser."""
        self.write_message({"type": "hello", "user": self.live_session.user.email})

    async def on_message(self, message: str | bytes) -> None:
        """Check the session, then answer."""
        token = self.session_token()
        try:
            await self.call(token, "resolve", token)
        except DomainError:
            self.close(SESSION_ENDED, "session ended")
            return
        try:
            document = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            self.write_message({"type": "error", "message": "messages must be JSON"})
            return
        if isinstance(document, dict) and document.get("type") == "ping":
            self.write_message({"type": "pong"})
