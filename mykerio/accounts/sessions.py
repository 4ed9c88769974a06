"""Server-side sessions: created at login, found by the cookie's token, ended by idleness, age
or logout.

Only the SHA-256 of a session token is stored, so a copy of the store does not log anyone in.
Without "Keep me logged in" a session ends after `session_idle` without requests, and
`session_lifetime` after login whatever the activity; with it, `persistent_session` after login.
Every session ended on purpose is published (`SessionEnded`, `UserSessionsEnded`), so whatever
holds it open (the dashboard's live sockets) closes at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from datetime import datetime

from mykerio.accounts.context import Client
from mykerio.accounts.devices import describe_device
from mykerio.accounts.policy import AccountPolicy
from mykerio.clock import Clock
from mykerio.errors import NotFound, Unauthorized
from mykerio.models import Session, User
from mykerio.security.tokens import new_token, token_hash
from mykerio.store.base import Store


class SessionExpired(Unauthorized):
    """The session ended by itself (idle too long, or too old)."""

    code = "session_expired"


@dataclasses.dataclass(frozen=True, slots=True)
class CurrentSession:
    """The logged-in user of a request and their session."""

    user: User
    session: Session
    # When the session ends unless it is used again before (idle), or at the latest (age).
    expires_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class SessionEnded:
    """One session was ended (logout, or ended from Settings); `reason` says how."""

    user_id: str
    id_hash: str
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class UserSessionsEnded:
    """Every session of a user but `keep` was ended (password changed or reset)."""

    user_id: str
    keep: str | None
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class SessionInfo:
    """One of a user's sessions as Settings lists it (no token, no stored hash)."""

    id: str
    device: str
    ip: str
    created_at: datetime
    last_seen: datetime
    expires_at: datetime
    persistent: bool
    current: bool


Publish = Callable[[object], None]


def public_session_id(id_hash: str) -> str:
    """The id Settings shows and ends a session by: derived from, but not, the stored hash."""
    return hashlib.sha256(f"mykerio session {id_hash}".encode()).hexdigest()[:24]


def _unheard(event: object) -> None:
    """The default publisher: nobody listens."""


class Sessions:
    """Creates, resolves and revokes sessions, and publishes every revocation."""

    def __init__(
        self, store: Store, clock: Clock, policy: AccountPolicy, publish: Publish = _unheard
    ) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy
        self._publish = publish

    async def create(self, user: User, *, persistent: bool, client: Client) -> str:
        """Start a session for `user`; returns the token for the cookie (never stored)."""
        token = new_token()
        now = self._clock.now()
        await self._store.sessions.add(
            Session(
                id_hash=token_hash(token),
                user_id=user.id,
                created_at=now,
                last_seen=now,
                persistent=persistent,
                ip=client.ip,
                user_agent=client.user_agent[:300],
            )
        )
        return token

    async def resolve(self, token: str, *, touch: bool = True) -> CurrentSession:
        """The session of `token`; `SessionExpired` if it ended, `Unauthorized` if unknown.

        `touch=False` checks without counting as activity (a live socket's periodic check)."""
        if not token:
            raise Unauthorized("Log in first.")
        id_hash = token_hash(token)
        session = await self._store.sessions.get(id_hash)
        if session is None:
            raise Unauthorized("Log in first.")
        now = self._clock.now()
        if self._expired(session, now):
            # Kept (housekeeping deletes it a day later), so the next request can still say
            # "expired" instead of a bare "log in".
            raise SessionExpired("Your session has expired. Log in again.")
        user = await self._store.users.by_id(session.user_id)
        if user is None:
            await self.revoke_hash(id_hash, "account_deleted")
            raise Unauthorized("Log in first.")
        if touch and now - session.last_seen >= self._policy.session_touch:
            await self._store.sessions.touch(id_hash, now)
            session = dataclasses.replace(session, last_seen=now)
        return CurrentSession(user=user, session=session, expires_at=self.expires_at(session))

    def expires_at(self, session: Session) -> datetime:
        """When `session` ends if it is not used again (and at the latest, whatever the use)."""
        if session.persistent:
            return session.created_at + self._policy.persistent_session
        return min(
            session.created_at + self._policy.session_lifetime,
            session.last_seen + self._policy.session_idle,
        )

    def _expired(self, session: Session, now: datetime) -> bool:
        return now > self.expires_at(session)

    async def revoke(self, token: str, reason: str = "logout") -> Session | None:
        """End the session of `token`; returns it if it existed."""
        return await self.revoke_hash(token_hash(token), reason)

    async def revoke_hash(self, id_hash: str, reason: str) -> Session | None:
        """End the session stored as `id_hash`; returns it if it existed."""
        session = await self._store.sessions.get(id_hash)
        await self._store.sessions.revoke(id_hash)
        if session is not None:
            self._publish(SessionEnded(session.user_id, id_hash, reason))
        return session

    async def revoke_others(
        self, user_id: str, keep_token: str | None, reason: str = "password_changed"
    ) -> int:
        """End every session of a user except the one of `keep_token`."""
        keep = token_hash(keep_token) if keep_token else None
        ended = await self._store.sessions.revoke_user(user_id, keep=keep)
        self._publish(UserSessionsEnded(user_id, keep, reason))
        return ended

    async def live_for_user(self, user_id: str) -> list[Session]:
        """The user's sessions that have not ended, oldest first."""
        now = self._clock.now()
        return [
            s for s in await self._store.sessions.for_user(user_id) if not self._expired(s, now)
        ]

    async def list_for(self, user_id: str, current_token: str) -> list[SessionInfo]:
        """The user's sessions, most recently seen first, the caller's own marked `current`."""
        current = token_hash(current_token) if current_token else ""
        found = [
            SessionInfo(
                id=public_session_id(session.id_hash),
                device=describe_device(session.user_agent),
                ip=session.ip,
                created_at=session.created_at,
                last_seen=session.last_seen,
                expires_at=self.expires_at(session),
                persistent=session.persistent,
                current=session.id_hash == current,
            )
            for session in await self.live_for_user(user_id)
        ]
        return sorted(found, key=lambda info: (not info.current, -info.last_seen.timestamp()))

    async def end_by_id(self, user_id: str, session_id: str) -> Session:
        """End the user's session shown as `session_id`; `NotFound` if it is not theirs."""
        for session in await self._store.sessions.for_user(user_id):
            if public_session_id(session.id_hash) == session_id:
                await self.revoke_hash(session.id_hash, "ended_in_settings")
                return session
        raise NotFound("This session has already ended.")
