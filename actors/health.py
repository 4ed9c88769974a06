"""HealthActor: owns the hub's own health — event-loop lag sampling and readiness checks."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Protocol

from actors.runtime import LoopActor, LoopRuntime


class Pingable(Protocol):
    """The part of the store a readiness check needs."""

    async def ping(self) -> None:
        """Raise if the store cannot answer."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class Readiness:
    """The answer to "can this hub serve?": one entry per dependency."""

    store: str

    @property
    def ready(self) -> bool:
        """Whether every dependency is ok."""
        return self.store == "ok"


class HealthActor(LoopActor):
    """Samples loop lag on a timer and answers readiness asks."""

    kind = "health"

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        store: Pingable,
        lag_interval: float,
        on_lag: Callable[[float], None],
        ping_timeout: float = 2.0,
    ) -> None:
        super().__init__(runtime=runtime, name=name)
        self._store = store
        self._interval = lag_interval
        self._on_lag = on_lag
        self._ping_timeout = ping_timeout
        self._timer: asyncio.TimerHandle | None = None

    def on_start(self) -> None:
        """Start sampling loop lag."""
        self._arm()

    def on_stop(self) -> None:
        """Stop sampling."""
        if self._timer is not None:
            self._timer.cancel()

    def _arm(self) -> None:
        loop = self.runtime.loop
        expected = loop.time() + self._interval
        self._timer = loop.call_at(expected, self._sample, expected)

    def _sample(self, expected: float) -> None:
        # A timer fires late by exactly as long as the loop was busy with something else.
        self._on_lag(max(0.0, self.runtime.loop.time() - expected))
        self._arm()

    async def readiness(self) -> Readiness:
        """Check each dependency within a short timeout."""
        try:
            async with asyncio.timeout(self._ping_timeout):
                await self._store.ping()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported as text
            return Readiness(store=f"unavailable: {type(exc).__name__}")
        return Readiness(store="ok")
