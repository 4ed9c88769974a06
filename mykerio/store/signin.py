"""The store's interfaces for sign-in state: sessions, pending logins, throttles, one-time
tokens, and the access audit. `mykerio.store.base.Store` gathers them with the others; the same
rules (UTC datetimes at millisecond precision, `Conflict` on duplicates) apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from mykerio.models import AccessEvent, LoginAttempt, OneTimeToken, Session


class SessionRepository(Protocol):
    """Server-side login sessions, known by the hash of the session id."""

    async def add(self, session: Session) -> Session:
        """Store a new session and return it as stored; `Conflict` if the hash is taken."""
        ...

    async def get(self, id_hash: str) -> Session | None:
        """The session with this id hash, or `None` (never existed, revoked or cleaned up)."""
        ...

    async def touch(self, id_hash: str, at: datetime) -> None:
        """Record activity at `at`; `last_seen` never moves back. A missing session is ignored."""
        ...

    async def revoke(self, id_hash: str) -> bool:
        """Delete the session; `True` if it existed."""
        ...

    async def revoke_user(self, user_id: str, *, keep: str | None = None) -> int:
        """Delete the user's sessions, except the one hashed `keep`; return how many went."""
        ...

    async def for_user(self, user_id: str) -> list[Session]:
        """The user's sessions, oldest first (ties by id hash)."""
        ...

    async def delete_idle(self, before: datetime, *, persistent: bool) -> int:
        """Delete the sessions of that kind last seen before `before`; return how many."""
        ...


class LoginAttemptRepository(Protocol):
    """Logins waiting for their second factor, known by the hash of the attempt id."""

    async def add(self, attempt: LoginAttempt) -> LoginAttempt:
        """Store a new attempt and return it as stored; `Conflict` if the hash is taken."""
        ...

    async def get(self, id_hash: str) -> LoginAttempt | None:
        """The attempt with this id hash, or `None`."""
        ...

    async def add_guess(self, id_hash: str) -> int:
        """Atomically count one more guess and return the new count; `NotFound` if gone."""
        ...

    async def set_sms_code(self, id_hash: str, code_hash: str, expires_at: datetime) -> None:
        """Bind (or replace) the SMS code's hash, valid until `expires_at`; `NotFound` if gone."""
        ...

    async def delete(self, id_hash: str) -> bool:
        """Delete the attempt; `True` if it existed."""
        ...

    async def delete_older_than(self, at: datetime) -> int:
        """Delete the attempts created before `at`; return how many."""
        ...


class ThrottleRepository(Protocol):
    """Timestamped events per opaque key (such as `"login:ana@acme.example"`), for rate limits.

    A window of length `w` ending at `t` is the half-open interval `(t - w, t]`: an event at
    `t0` counts until, not at, `t0 + w` (so `Retry-After` is the oldest one's `t0 + w - now`).
    """

    async def record(self, key: str, at: datetime, window: timedelta) -> int:
        """Store one event of `key` at `at`, delete the key's events at or before `at - window`,
        and return how many events the key has in `(at - window, at]`, this one included.
        """
        ...

    async def count(self, key: str, since: datetime) -> int:
        """How many events `key` has after `since` (exclusive)."""
        ...

    async def oldest_since(self, key: str, since: datetime) -> datetime | None:
        """The time of the key's oldest event after `since` (exclusive), or `None`."""
        ...

    async def clear(self, key: str) -> None:
        """Forget every event of `key`."""
        ...


class TokenRepository(Protocol):
    """Single-use tokens (confirmation, reset, ...) known by their hash."""

    async def add(self, token: OneTimeToken) -> OneTimeToken:
        """Store a new token and return it as stored; `Conflict` if the hash is taken."""
        ...

    async def consume(self, token_hash: str, purpose: str, now: datetime) -> OneTimeToken | None:
        """Atomically use the token up: return and delete it if it has this purpose and
        `expires_at > now`. An expired token of this purpose is deleted and gives `None`; a
        token of another purpose is left alone. Of concurrent calls at most one gets it.
        """
        ...

    async def peek(self, token_hash: str, purpose: str, now: datetime) -> OneTimeToken | None:
        """The token if it has this purpose and `expires_at > now`, without using it up."""
        ...

    async def delete_for_user(self, user_id: str, purpose: str) -> int:
        """Delete the user's tokens of this purpose; return how many."""
        ...

    async def delete_expired(self, now: datetime) -> int:
        """Delete every token with `expires_at <= now`; return how many."""
        ...


class AuditRepository(Protocol):
    """The access audit: logins, logouts and failed logins."""

    async def add(self, event: AccessEvent) -> AccessEvent:
        """Store a new event and return it as stored; `Conflict` if the id is taken."""
        ...

    async def query(
        self,
        *,
        user_ids: Sequence[str],
        ip: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        action: str | None = None,
        limit: int,
        before: tuple[datetime, str] | None = None,
    ) -> list[AccessEvent]:
        """At most `limit` events of these users, newest first (ties by greater id).

        Optional filters: exactly this `ip`, `since <= at < until`, this `action`. For the next
        page pass the `(at, id)` of the last event of this one as `before`: pages then neither
        repeat nor skip events, also among events with equal times. No `user_ids`, no events.
        """
        ...

    async def delete_older_than(self, at: datetime) -> int:
        """Delete the events before `at`; return how many."""
        ...
