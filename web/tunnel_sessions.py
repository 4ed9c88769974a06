"""The hub's tunnel sessions: single-use tickets, sessions on the tunnel origin, cookie jars.

"Open administration" (a dashboard API call) makes a ticket: 32 random bytes, bound to the
user, the appliance and the hub session, good for one use within `[tunnel] ticket_seconds`
(≤ 60 s). Redeeming it on the tunnel origin opens a tunnel session, known to the browser only
by its own random cookie. A session holds the appliance's cookies (the jar: they never reach
the browser) and ends — its open requests with it — when its hub session ends (logout, ended
from Settings, password change, expiry), when its user leaves the organization, or when the
appliance is removed: each is a bus event, so every request's check is a dictionary look-up.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime

from mykerio.accounts.sessions import SessionEnded, UserSessionsEnded
from mykerio.bus import EventBus
from mykerio.clock import Clock
from mykerio.organizations.events import ApplianceRemoved, MemberRemoved, OrganizationDeleted
from mykerio.protocol.stream_link import Stream


@dataclasses.dataclass(frozen=True, slots=True)
class TunnelGrant:
    """Who may open which appliance, until when (a ticket's and a session's facts)."""

    user_id: str
    email: str
    name: str
    org_id: str
    org_name: str
    appliance_id: str
    appliance_name: str
    hub_session: str  # the hub session's id hash
    session_expires_at: datetime  # when the hub session ends unless used, as of the ticket
    # The hub session's cookie value, to check it (and count the tunnel's use as activity)
    # now and then: held in memory only, never logged (repr) nor stored.
    hub_token: str = dataclasses.field(default="", repr=False)


@dataclasses.dataclass(eq=False)
class TunnelSession:
    """One browser's tunnel into one appliance."""

    grant: TunnelGrant
    expires_at: datetime  # the hub session's end unless used (updated by each check)
    checked_at: float  # when the hub session was last checked (monotonic seconds)
    jar: dict[str, str] = dataclasses.field(default_factory=dict)  # the appliance's cookies
    streams: set[Stream] = dataclasses.field(default_factory=set)  # its requests now
    ended: bool = False

    def cookie_header(self) -> str | None:
        """The jar as a Cookie header, or None when empty."""
        if not self.jar:
            return None
        return "; ".join(f"{name}={value}" for name, value in self.jar.items())

    def keep_cookie(self, set_cookie: str) -> None:
        """Put one Set-Cookie of the appliance into the jar (an expired one removes it)."""
        first, _, attributes = set_cookie.partition(";")
        name, equals, value = first.strip().partition("=")
        if not equals or not name:
            return
        lowered = attributes.lower().replace(" ", "")
        if "max-age=0" in lowered or "expires=thu,01jan1970" in lowered or value == '""':
            self.jar.pop(name, None)
        elif len(self.jar) < 32 and len(value) <= 4096:
            self.jar[name] = value


# How often a tunnel session's hub session is checked (the bus ends it at once on logout).
CHECK_SECONDS = 60.0


class TunnelSessions:
    """Tickets and tunnel sessions of this hub process."""

    def __init__(self, clock: Clock, ticket_seconds: float) -> None:
        self._clock = clock
        self._ticket_seconds = ticket_seconds
        self._tickets: dict[str, tuple[TunnelGrant, float]] = {}
        self._sessions: dict[str, TunnelSession] = {}

    def subscribe(self, bus: EventBus) -> None:
        """End sessions the moment their access ends."""
        bus.subscribe(SessionEnded, self.hub_session_ended)
        bus.subscribe(UserSessionsEnded, self.user_sessions_ended)
        bus.subscribe(MemberRemoved, self.access_lost)
        bus.subscribe(OrganizationDeleted, self.access_lost)
        bus.subscribe(ApplianceRemoved, self.appliance_removed)

    def issue(self, grant: TunnelGrant) -> str:
        """A new single-use ticket for `grant`."""
        now = self._clock.monotonic()
        for stale in [t for t, (_, until) in self._tickets.items() if until <= now]:
            del self._tickets[stale]
        ticket = secrets.token_urlsafe(32)
        self._tickets[ticket] = (grant, now + self._ticket_seconds)
        return ticket

    def redeem(self, ticket: str) -> tuple[str, TunnelSession] | None:
        """Use a ticket (once): a new session and its cookie value, or None."""
        found = self._tickets.pop(ticket, None)
        if found is None or found[1] <= self._clock.monotonic():
            return None
        token = secrets.token_urlsafe(32)
        grant = found[0]
        session = TunnelSession(grant, grant.session_expires_at, self._clock.monotonic())
        self._sessions[token] = session
        return token, session

    def session(self, token: str | None) -> TunnelSession | None:
        """The live session of a cookie value, or None (an expired one is ended now)."""
        session = self._sessions.get(token or "")
        if session is None:
            return None
        if session.expires_at <= self._clock.now():
            self.end(session)
            return None
        return session

    async def checked(
        self, session: TunnelSession, check: Callable[[str], Awaitable[datetime | None]]
    ) -> bool:
        """Whether the hub session is still valid, asking `check` at most once a minute (it
        also counts the tunnel's use as activity of the hub session); a gone one ends now."""
        now = self._clock.monotonic()
        if now - session.checked_at < CHECK_SECONDS or not session.grant.hub_token:
            return not session.ended
        session.checked_at = now
        expires_at = await check(session.grant.hub_token)
        if expires_at is None:
            self.end(session)
            return False
        session.expires_at = expires_at
        return not session.ended

    def end(self, session: TunnelSession) -> None:
        """End one session (its requests with it)."""
        self._end(lambda s: s is session)

    def open_sessions(self) -> int:
        """How many tunnel sessions exist (tests, metrics)."""
        return len(self._sessions)

    # Bus events.
    def hub_session_ended(self, event: SessionEnded) -> None:
        """Logout, or a session ended from Settings."""
        self._end(lambda s: s.grant.hub_session == event.id_hash)

    def user_sessions_ended(self, event: UserSessionsEnded) -> None:
        """Every hub session of a user but one ended (password changed or reset)."""
        self._end(lambda s: s.grant.user_id == event.user_id and s.grant.hub_session != event.keep)

    def access_lost(self, event: MemberRemoved | OrganizationDeleted) -> None:
        """People left the organization (or it is gone)."""
        users = set(event.user_ids)
        self._end(lambda s: s.grant.org_id == event.org_id and s.grant.user_id in users)

    def appliance_removed(self, event: ApplianceRemoved) -> None:
        """The appliance left the organization."""
        self._end(lambda s: s.grant.appliance_id == event.appliance.id)

    def _end(self, matches: Callable[[TunnelSession], bool]) -> None:
        for token, session in list(self._sessions.items()):
            if matches(session):
                del self._sessions[token]
                session.ended = True
                session.jar.clear()
                for stream in list(session.streams):
                    stream.reset("cancelled")  # (its request ends at once)
                session.streams.clear()
