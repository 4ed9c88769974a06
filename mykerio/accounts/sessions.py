"""Server-side sessions: created at login, found by the cookie's token, ended by idleness or logout.

Only the SHA-256 of a session token is stored, so a copy of the store does not log anyone in.
Without "Keep me logged in" a session ends after `session_idle` without requests; with it,
`persistent_session` after login.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from mykerio.accounts.context import Client
from mykerio.accounts.policy import AccountPolicy
from mykerio.clock import Clock
from mykerio.errors import Unauthorized
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


class Sessions:
    """Creates, resolves and revokes sessions."""

    def __init__(self, store: Store, clock: Clock, policy: AccountPolicy) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy

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

    async def resolve(self, token: str) -> CurrentSession:
        """The session of `token`; `SessionExpired` if it ended, `Unauthorized` if unknown."""
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
            await self._store.sessions.revoke(id_hash)
            raise Unauthorized("Log in first.")
        if now - session.last_seen >= self._policy.session_touch:
            await self._store.sessions.touch(id_hash, now)
            session = dataclasses.replace(session, last_seen=now)
        return CurrentSession(user=user, session=session)

    def _expired(self, session: Session, now: datetime) -> bool:
        if session.persistent:
            return now - session.created_at > self._policy.persistent_session
        return now - session.last_seen > self._policy.session_idle

    async def revoke(self, token: str) -> Session | None:
        """End the session of `token`; returns it if it existed."""
        id_hash = token_hash(token)
        session = await self._store.sessions.get(id_hash)
        await self._store.sessions.revoke(id_hash)
        return session

    async def revoke_others(self, user_id: str, keep_token: str | None) -> int:
        """End every session of a user except the one of `keep_token`."""
        keep = token_hash(keep_token) if keep_token else None
        return await self._store.sessions.revoke_user(user_id, keep=keep)
