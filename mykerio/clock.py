"""Time as the hub sees it: one `Clock` interface so tests can move time by hand.

`FakeClock` also schedules: its `call_later` timers fire while `advance` moves time past them,
so a test can pass it as the scheduler of timers that must follow the fake time.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where code asks for the time; pass one in instead of calling `datetime.now`."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start that never go backwards."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()


@dataclass(eq=False)
class FakeTimer:
    """A `FakeClock.call_later` timer."""

    at: float
    order: int
    callback: Callable[[], None] = field(repr=False)
    cancelled: bool = False

    def cancel(self) -> None:
        """Forget the scheduled call."""
        self.cancelled = True


class FakeClock:
    """A clock that moves only when told to; for tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._monotonic = 1000.0
        self._timers: list[FakeTimer] = []
        self._order = itertools.count()

    def call_later(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        """Run `callback` once `advance` has moved the clock `delay` seconds on (a scheduler,
        like `asyncio`'s `loop.call_later`)."""
        timer = FakeTimer(self._monotonic + max(0.0, delay), next(self._order), callback)
        self._timers.append(timer)
        return timer

    def now(self) -> datetime:
        """The current fake time."""
        return self._now

    def monotonic(self) -> float:
        """The current fake monotonic reading."""
        return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move both readings forward by `seconds`, running the timers that fall due on the
        way, each at its own time, in the order they are due (then in the order scheduled)."""
        if seconds < 0:  # back in time (a test of a clock set back): no timers run
            self._now += timedelta(seconds=seconds)
            self._monotonic += seconds
            return
        end = self._monotonic + seconds
        while True:
            self._timers = [timer for timer in self._timers if not timer.cancelled]
            due = [timer for timer in self._timers if timer.at <= end]
            if not due:
                break
            timer = min(due, key=lambda t: (t.at, t.order))
            self._timers.remove(timer)
            self._move(timer.at - self._monotonic)
            timer.callback()
        self._move(end - self._monotonic)

    def _move(self, seconds: float) -> None:
        if seconds > 0:
            self._now += timedelta(seconds=seconds)
            self._monotonic += seconds
