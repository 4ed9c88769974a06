"""Recent authentication: when a session last proved its password (a login or a password
confirmation), so that changing a second factor can ask for the password only when that was
more than `reauthentication_valid` (5 minutes) ago.

The proof is a token in the token store, found by the session (its key derives from the
session's stored hash, so it is a lookup key, not a secret) and expiring 5 minutes after the
proof. It holds across actors and processes like every other token.
"""

from __future__ import annotations

from mykerio.accounts.policy import AccountPolicy
from mykerio.clock import Clock
from mykerio.models import OneTimeToken
from mykerio.security.tokens import token_hash
from mykerio.store.base import Store


class RecentAuthentication:
    """Records and checks a session's latest password proof."""

    def __init__(self, store: Store, clock: Clock, policy: AccountPolicy) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy

    async def record(self, user_id: str, session_hash: str) -> None:
        """The session of `session_hash` proved its password just now."""
        purpose = _purpose(session_hash)
        await self._store.tokens.delete_for_user(user_id, purpose)
        now = self._clock.now()
        await self._store.tokens.add(
            OneTimeToken(
                token_hash=_key(session_hash),
                purpose=purpose,
                user_id=user_id,
                created_at=now,
                expires_at=now + self._policy.reauthentication_valid,
                data="",
            )
        )

    async def is_recent(self, session_hash: str) -> bool:
        """Whether the session proved its password within the last 5 minutes."""
        proof = await self._store.tokens.peek(
            _key(session_hash), _purpose(session_hash), self._clock.now()
        )
        return proof is not None


def _purpose(session_hash: str) -> str:
    # One purpose per session, so recording a new proof replaces only this session's.
    return f"reauthenticated:{session_hash[:32]}"


def _key(session_hash: str) -> str:
    return token_hash(f"reauthenticated:{session_hash}")
