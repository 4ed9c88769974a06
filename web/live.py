"""The dashboard's live websocket (`/api/v1/live?org=<id>`) and the registry of open sockets.

A socket opens only from the hub's own origin (`Origin` required), with a valid session and,
when it names an organization, only for its members. Its close codes:

- 4401 `session_ended`: its session was ended — logout, password changed or reset, ended from
  Settings; 4401 `session_expired`: the session ran out (idle, or too old). The dashboard goes
  to the login page.
- 4403 `member_removed` / `organization_deleted`: access to the organization is gone (an
  `access_revoked` message comes first).
- 1001 `going_away`: the hub is shutting down.

The registry listens on the bus (`subscribe`): appliance events (`ApplianceAdded`,
`ApplianceChanged`, `ApplianceRemoved`) are pushed to members' sockets of that organization,
shared definitions' events (`DefinitionsChanged`, and `DefinitionsSyncChanged` coalesced per
kind to one message per quarter second) too, `MemberRemoved` and `OrganizationDeleted` close
them (4403), and ended sessions
(`SessionEnded`, `UserSessionsEnded`) close their sockets at once. Expiry is checked every
`CHECK_SECONDS`, for the sockets whose session's end has come, without counting the check as
activity. The session is also checked on every browser message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import tornado.websocket

from actors.accounts import AccountsActor
from actors.organization import OrganizationActor
from mykerio.accounts.sessions import CurrentSession, SessionEnded, UserSessionsEnded
from mykerio.bus import EventBus
from mykerio.clock import Clock
from mykerio.definitions.events import DefinitionsChanged, DefinitionsSyncChanged
from mykerio.errors import DomainError, Forbidden, Unavailable
from mykerio.organizations.events import (
    AccessLost,
    ApplianceAdded,
    ApplianceChanged,
    ApplianceRemoved,
    MemberRemoved,
    OrganizationDeleted,
)
from web.models.ops import LiveQuery
from web.openapi import op
from web.orgs import OrgHandler

SESSION_ENDED = 4401
ACCESS_REVOKED = 4403
# Seconds between two looks for sockets whose session has run out.
CHECK_SECONDS = 10.0
BAD_ORIGIN = "The live socket opens only from the hub's own pages."
# Sync changes of shared definitions reach a page at most this often (per kind).
SYNC_COALESCE_SECONDS = 0.25


class LiveRegistry:
    """Open live sockets by user, so organization and session events can reach them."""

    def __init__(self, clock: Clock) -> None:
        self._by_user: dict[str, set[LiveSocketHandler]] = defaultdict(set)
        self._clock = clock
        self._timer: asyncio.TimerHandle | None = None

    def start_checks(self, loop: asyncio.AbstractEventLoop) -> None:
        """Look for run-out sessions every `CHECK_SECONDS` until `close_all`."""

        def tick() -> None:
            self.check_expiry()
            self._timer = loop.call_later(CHECK_SECONDS, tick)

        self._timer = loop.call_later(CHECK_SECONDS, tick)

    def check_expiry(self) -> None:
        """Recheck each socket whose session's end has come; those that ended close (4401)."""
        now = self._clock.now()
        for sockets in list(self._by_user.values()):
            for socket in list(sockets):
                if socket.expires_at <= now:
                    socket.recheck()

    def session_ended(self, event: SessionEnded) -> None:
        """One session ended: close its sockets."""
        for socket in list(self._by_user.get(event.user_id, ())):
            if socket.id_hash == event.id_hash:
                socket.session_over("session_ended")

    def user_sessions_ended(self, event: UserSessionsEnded) -> None:
        """All of a user's sessions but one ended: close their sockets."""
        for socket in list(self._by_user.get(event.user_id, ())):
            if socket.id_hash != event.keep:
                socket.session_over("session_ended")

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

    def subscribe(self, bus: EventBus) -> None:
        """Listen on the bus for what open dashboards must show or react to."""
        bus.subscribe(ApplianceAdded, self.appliance_shown)
        bus.subscribe(ApplianceChanged, self.appliance_shown)
        bus.subscribe(ApplianceRemoved, self.appliance_removed)
        bus.subscribe(MemberRemoved, self.access_lost)
        bus.subscribe(OrganizationDeleted, self.access_lost)
        bus.subscribe(SessionEnded, self.session_ended)
        bus.subscribe(UserSessionsEnded, self.user_sessions_ended)
        bus.subscribe(DefinitionsChanged, self.definitions_changed)
        bus.subscribe(DefinitionsSyncChanged, self.definitions_synced)

    def appliance_shown(self, event: ApplianceAdded | ApplianceChanged) -> None:
        """An appliance was added or changed: members' dashboards of its organization show it."""
        message = {"type": "appliance", "appliance": dataclasses.asdict(event.appliance)}
        self._push(event.org_id, event.user_ids, message)

    def appliance_removed(self, event: ApplianceRemoved) -> None:
        """An appliance left: members' dashboards of its organization drop it."""
        message = {"type": "appliance_removed", "id": event.appliance.id}
        self._push(event.org_id, event.user_ids, message)

    def access_lost(self, event: AccessLost) -> None:
        """People lost access to an organization: their dashboards of it close."""
        reason = "member_removed" if isinstance(event, MemberRemoved) else "organization_deleted"
        for socket in self._sockets_on(event.org_id, event.user_ids):
            socket.revoke(reason)

    def definitions_changed(self, event: DefinitionsChanged) -> None:
        """A kind of shared definitions has a new version: members' pages of it reload."""
        message = {"type": "definitions", "kind": event.kind, "version": event.version}
        self._push(event.org_id, event.user_ids, message)

    def definitions_synced(self, event: DefinitionsSyncChanged) -> None:
        """An appliance's sync of a kind may differ: members' pages of it show the new state.
        One message per kind and socket per `SYNC_COALESCE_SECONDS` (a change acknowledged by
        1,000 Controls is 1,000 events; the page reads the states once)."""
        message = {"type": "definitions_sync", "kind": event.kind}
        for socket in self._sockets_on(event.org_id, event.user_ids):
            socket.push_coalesced(f"definitions_sync:{event.kind}", message)

    def _push(self, org_id: str, user_ids: tuple[str, ...], message: dict[str, Any]) -> None:
        for socket in self._sockets_on(org_id, user_ids):
            socket.push(message)

    def _sockets_on(self, org_id: str, user_ids: tuple[str, ...]) -> list[LiveSocketHandler]:
        return [
            socket
            for user_id in user_ids
            for socket in tuple(self._by_user.get(user_id, ()))
            if socket.org_id == org_id
        ]

    def close_all(self) -> None:
        """The hub is shutting down: stop the checks, close every dashboard socket (1001)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
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
            "401 without one, 403 unless `Origin` is the hub's own origin, 404 for an organization "
            "you are not a member of). Messages are "
            "JSON objects with a `type`; `ping` is answered with `pong`",
            "live",
            {
                "101": "Switching protocols",
                "401": "Not logged in",
                "403": "Missing or foreign Origin",
                "404": "No such organization",
            },
            query=LiveQuery,
        )
    }

    def initialize(self, registry: LiveRegistry, **kwargs: Any) -> None:  # type: ignore[override]
        """Store the registry of open sockets."""
        super().initialize(**kwargs)
        self.registry = registry
        self.user_id = ""
        self.org_id = ""
        self.id_hash = ""
        self.expires_at = datetime.max.replace(tzinfo=UTC)
        self._checking = False
        self._coalesced: dict[str, dict[str, Any]] = {}  # by key, waiting for the next flush

    def own_origin(self) -> str:
        """The origin the dashboard is served from: this request's scheme and host."""
        return f"{self.request.protocol}://{self.request.host}".lower()

    def check_origin(self, origin: str) -> bool:
        """Only the hub's own pages may open the socket (exact scheme, host and port)."""
        return origin.lower() == self.own_origin()

    async def prepare(self) -> None:
        """Refuse the upgrade unless the Origin is the hub's own, the session is valid and the
        user a member."""
        super().prepare()
        origin = self.request.headers.get("Origin", "")
        if not origin or not self.check_origin(origin):
            # Tornado lets a client without Origin through; a browser always sends one, and a
            # socket from another site's page (or a stripped header) must not ride the cookie.
            self.send_error(403, exc_info=(Forbidden, Forbidden(BAD_ORIGIN), None))
            return
        try:
            self.live_session: CurrentSession = await self.current_session()
            self.org_id = self.get_query_argument("org", "")
            if self.org_id:
                await self.org_call(self.org_id, OrganizationActor.view)
        except DomainError as exc:
            self.send_error(exc.status, exc_info=(type(exc), exc, None))
            return
        self.user_id = self.live_session.user.id
        self.id_hash = self.live_session.session.id_hash
        self.expires_at = self.live_session.expires_at

    def get_compression_options(self) -> dict[str, Any] | None:
        """Compress frames (appliance lists can be long)."""
        return {}

    def open(self, *args: str, **kwargs: str) -> None:
        """Register and greet the browser."""
        self.registry.add(self)
        self.write_message(
            {"type": "hello", "user": self.live_session.user.email, "org": self.org_id}
        )
        # A session ended while the upgrade was being checked was published before this socket
        # was registered: check once more now that later events reach it.
        self.recheck()

    def on_close(self) -> None:
        """Forget the socket."""
        self.registry.discard(self)

    def push(self, message: dict[str, Any]) -> None:
        """Send a live update; a closed socket is simply skipped."""
        try:
            self.write_message(message)
        except tornado.websocket.WebSocketClosedError:
            return

    def push_coalesced(self, key: str, message: dict[str, Any]) -> None:
        """Send `message` within `SYNC_COALESCE_SECONDS`, once for all the pushes of `key`
        meanwhile (the last one's message goes)."""
        first = not self._coalesced
        self._coalesced[key] = message
        if first:
            asyncio.get_running_loop().call_later(SYNC_COALESCE_SECONDS, self._flush_coalesced)

    def _flush_coalesced(self) -> None:
        messages, self._coalesced = list(self._coalesced.values()), {}
        for message in messages:
            self.push(message)

    def revoke(self, reason: str) -> None:
        """Tell the browser it lost access to the organization, then close."""
        try:
            self.write_message({"type": "access_revoked", "org": self.org_id, "reason": reason})
        except tornado.websocket.WebSocketClosedError:
            return
        self.close(ACCESS_REVOKED, reason)

    def session_over(self, reason: str) -> None:
        """The session is over: close with 4401 and `reason` (the dashboard goes to login)."""
        self.registry.discard(self)
        self.close(SESSION_ENDED, reason)

    def recheck(self) -> None:
        """Check the session again (without counting as activity); close if it has ended."""
        if self._checking:
            return
        self._checking = True
        asyncio.get_running_loop().create_task(self._recheck())

    async def _recheck(self) -> None:
        token = self.session_token()
        try:
            current: CurrentSession = await self.call(token, AccountsActor.check_session, token)
        except Unavailable:
            return  # the accounts actor is restarting: the next check decides
        except DomainError as exc:
            self.session_over(
                "session_expired" if exc.code == "session_expired" else "session_ended"
            )
            return
        finally:
            self._checking = False
        self.expires_at = current.expires_at

    async def on_message(self, message: str | bytes) -> None:
        """Check the session, then answer."""
        token = self.session_token()
        try:
            current: CurrentSession = await self.call(token, AccountsActor.resolve, token)
        except DomainError as exc:
            self.session_over(
                "session_expired" if exc.code == "session_expired" else "session_ended"
            )
            return
        self.expires_at = current.expires_at
        try:
            document = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            self.write_message({"type": "error", "message": "messages must be JSON"})
            return
        if isinstance(document, dict) and document.get("type") == "ping":
            self.write_message({"type": "pong"})
