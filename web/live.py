"""The dashboard's live websocket (`/api/v1/live?org=<id>`) and the registry of open sockets.

A socket opens only with a valid session and, when it names an organization, only for its
members. The session is checked again on every message from the browser; organization events
(a member removed, the organization deleted) reach the registry at once and close the affected
sockets with code 4403, so a removed member's open dashboard loses access immediately.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from typing import Any

import tornado.websocket

from actors.organization import OrgEvent
from mykerio.accounts.sessions import CurrentSession
from mykerio.errors import DomainError
from web.openapi import op
from web.orgs import OrgHandler

SESSION_ENDED = 4401
ACCESS_REVOKED = 4403


class LiveRegistry:
    """Open live sockets by user, so organization events can reach them."""

    def __init__(self) -> None:
        self._by_user: dict[str, set[LiveSocketHandler]] = defaultdict(set)

    def add(self, socket: LiveSocketHandler) -> None:
        """Track an open socket."""
        self._by_user[socket.user_id].add(socket)

    def discard(self, socket: LiveSocketHandler) -> None:
        """Forget a closed socket."""
        sockets = self._by_user.get(socket.user_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._by_user[socket.user_id]

    def publish(self, event: OrgEvent) -> None:
        """React to an organization event (called by organization actors, on the loop)."""
        if event.appliance is not None and event.kind.startswith("appliance_"):
            message: dict[str, Any] = (
                {"type": "appliance_removed", "id": event.appliance.id}
                if event.kind == "appliance_removed"
                else {"type": "appliance", "appliance": dataclasses.asdict(event.appliance)}
            )
            for user_id in event.user_ids:
                for socket in list(self._by_user.get(user_id, ())):
                    if socket.org_id == event.org_id:
                        socket.push(message)
            return
        if event.kind not in ("member_removed", "organization_deleted"):
            return
        for user_id in event.user_ids:
            for socket in list(self._by_user.get(user_id, ())):
                if socket.org_id == event.org_id:
                    socket.revoke(event.kind)

    def close_all(self) -> None:
        """The hub is shutting down: close every dashboard socket (1001)."""
        for sockets in list(self._by_user.values()):
            for socket in list(sockets):
                socket.close(1001, "going_away")

    def __len__(self) -> int:
        return sum(len(sockets) for sockets in self._by_user.values())


class LiveSocketHandler(tornado.websocket.WebSocketHandler, OrgHandler):
    """Moves frames between the browser and the hub for one logged-in session."""

    openapi = {
        "get": op(
            "Open the dashboard's live websocket for an organization (session cookie required; "
            "401 without one, 404 for an organization you are not a member of). Messages are "
            "JSON objects with a `type`; `ping` is answered with `pong`",
            "live",
            {"101": "Switching protocols", "401": "Not logged in", "404": "No such organization"},
            query={"org": "string"},
        )
    }

    def initialize(self, registry: LiveRegistry, **kwargs: Any) -> None:  # type: ignore[override]
        """Store the registry of open sockets."""
        super().initialize(**kwargs)
        self.registry = registry
        self.user_id = ""
        self.org_id = ""

    async def prepare(self) -> None:
        """Refuse the upgrade unless the session is valid (and the user a member)."""
        super().prepare()
        try:
            self.live_session: CurrentSession = await self.current_session()
            self.org_id = self.get_query_argument("org", "")
            if self.org_id:
                await self.org_call(self.org_id, "view")
        except DomainError as exc:
            self.send_error(exc.status, exc_info=(type(exc), exc, None))
            return
        self.user_id = self.live_session.user.id

    def get_compression_options(self) -> dict[str, Any] | None:
        """Compress frames (appliance lists can be long)."""
        return {}

    def open(self, *args: str, **kwargs: str) -> None:
        """Register and greet the browser."""
        self.registry.add(self)
        self.write_message(
            {"type": "hello", "user": self.live_session.user.email, "org": self.org_id}
        )

    def on_close(self) -> None:
        """Forget the socket."""
        self.registry.discard(self)

    def push(self, message: dict[str, Any]) -> None:
        """Send a live update; a closed socket is simply skipped."""
        try:
            self.write_message(message)
        except tornado.websocket.WebSocketClosedError:
            return

    def revoke(self, reason: str) -> None:
        """Tell the browser it lost access to the organization, then close."""
        try:
            self.write_message({"type": "access_revoked", "org": self.org_id, "reason": reason})
        except tornado.websocket.WebSocketClosedError:
            return
        self.close(ACCESS_REVOKED, reason)

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
