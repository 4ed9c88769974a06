"""HousekeepingActor: deletes what has expired — old access-audit records, ended sessions,
stale logins and one-time tokens — once at start and then every `interval` seconds."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from actors.runtime import LoopActor, LoopRuntime
from actors.supervisor import Cancellable, Scheduler
from mykerio.accounts.policy import AccountPolicy
from mykerio.clock import Clock
from mykerio.store.base import Store

SWEEP = "sweep"
# Ended sessions stay this long, so a returning browser is told "expired", not just "log in".
EXPIRED_KEPT = timedelta(days=1)


@dataclasses.dataclass(frozen=True, slots=True)
class Swept:
    """How many records one sweep deleted, by kind."""

    audit_events: int
    sessions: int
    login_attempts: int
    tokens: int


class HousekeepingActor(LoopActor):
    """Runs the periodic clean-up of the store."""

    kind = "housekeeping"

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        store: Store,
        clock: Clock,
        policy: AccountPolicy,
        interval: float,
        schedule: Scheduler | None = None,
    ) -> None:
        super().__init__(runtime=runtime, name=name)
        self._store = store
        self._clock = clock
        self._policy = policy
        self._interval = interval
        self._schedule: Scheduler = schedule or runtime.loop.call_later
        self._timer: Cancellable | None = None

    def on_start(self) -> None:
        """Sweep soon after start, then on every interval."""
        self.actor_ref.tell(SWEEP)

    def on_stop(self) -> None:
        """Stop the timer."""
        if self._timer is not None:
            self._timer.cancel()

    def on_receive(self, message: Any) -> Any:
        """`"sweep"` runs one sweep (and answers an ask with its `Swept`)."""
        if message == SWEEP:
            return self.sweep()
        return super().on_receive(message)

    async def sweep(self) -> Swept:
        """Delete expired records now; the next sweep is scheduled after this one."""
        now = self._clock.now()
        policy = self._policy
        swept = Swept(
            audit_events=await self._store.audit.delete_older_than(now - policy.audit_retention),
            sessions=await self._store.sessions.delete_idle(
                now - policy.session_idle - EXPIRED_KEPT, persistent=False
            )
            + await self._store.sessions.delete_idle(
                now - policy.persistent_session, persistent=True
            ),
            login_attempts=await self._store.login_attempts.delete_older_than(
                now - policy.login_attempt_valid
            ),
            tokens=await self._store.tokens.delete_expired(now),
        )
        self.log.info("housekeeping done", **dataclasses.asdict(swept))
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._schedule(self._interval, lambda: self.actor_ref.tell(SWEEP))
        return swept
