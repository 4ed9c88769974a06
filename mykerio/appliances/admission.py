"""Admission of new appliance sockets: a bound on handshakes in progress, and when to come back.

Under a reconnect storm the hub must finish the handshakes it starts instead of starting more
than it can finish before their deadline (issue 17). `HandshakeBudget` holds at most `limit`
handshakes in progress (from the upgrade until the appliance is welcomed, shown a code, or
gone). A socket over it waits in a short line for a slot (at most `max_wait` seconds, at most
`queue` sockets: a waiting upgrade costs only its open connection), so a freed slot is taken at
once and the hub never idles while appliances knock; past either it is refused before any actor
or signature, with a retry-after (docs/protocol.md, section 6, "Storm rules"). The retry-after
spreads the refused appliances over the time the hub needs to serve them at its measured pace,
with jitter, so that they come back spread out instead of together. Times are the caller's
monotonic seconds; random draws come from `uniform`, so tests choose them.
"""

from __future__ import annotations

import asyncio
import collections
import math
import os
import random
from collections.abc import Callable

# How long an upgrade may wait for a slot (seconds), and how many may wait, per slot.
MAX_WAIT = 5.0
QUEUE_PER_SLOT = 16
# The pace (handshakes finished per second) is measured over this many seconds.
PACE_WINDOW = 10.0
# Retry-after bounds (seconds): never sooner than the floor, never later than the cap.
RETRY_FLOOR = 1.0
RETRY_CAP = 120.0
# Until a pace is measured, a handshake is taken to hold its slot this long (seconds): a few
# round trips to a far appliance. A guess on the safe side spreads the first wave too thinly.
ASSUMED_HANDSHAKE = 0.5


class HandshakeBudget:
    """How many handshakes may be in progress at once, and the retry-after for the rest."""

    def __init__(self, limit: int, uniform: Callable[[], float] = random.random) -> None:
        if limit < 1:
            raise ValueError("a handshake budget admits at least one handshake")
        self.limit = limit
        self.in_progress = 0
        self.refused = 0  # sockets refused since start (for logs and tests)
        self.completed = 0  # handshakes that ended with a welcome or a code
        self._uniform = uniform
        self._finished: collections.deque[float] = collections.deque()  # when, in the window
        self._refusals: collections.deque[float] = collections.deque()
        self._since: float | None = None  # the first knock: the pace window is no older
        self._line: collections.deque[asyncio.Future[None]] = collections.deque()
        self.queue = QUEUE_PER_SLOT * limit
        self.closed = False  # the hub is stopping: no one is admitted any more

    def close(self) -> None:
        """The hub stops: refuse every knock from now on, and those waiting in line at once."""
        self.closed = True
        while self._line:
            turn = self._line.popleft()
            if not turn.done():
                turn.set_exception(_Closing())

    async def enter(self, now: float, max_wait: float = MAX_WAIT) -> int | None:
        """Admit one more handshake (None) once a slot is free, waiting at most `max_wait`
        seconds in line; else the whole seconds to wait before trying again."""
        if self.closed:
            return self._refuse(now)
        if self._line or self.in_progress >= self.limit:
            if len(self._line) < self.queue:
                turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._line.append(turn)
                try:
                    async with asyncio.timeout(max_wait):
                        await asyncio.shield(turn)
                except _Closing:
                    return self._refuse(now)
                except TimeoutError:
                    pass
                if turn.done() and turn.exception() is None:
                    return None  # `leave` handed its slot over
                if turn in self._line:
                    self._line.remove(turn)
                now += max_wait
            return self._refuse(now)
        return self.try_enter(now)

    def try_enter(self, now: float) -> int | None:
        """Admit one more handshake (None), or the whole seconds to wait before trying again."""
        if self._since is None:
            self._since = now
        if self.in_progress < self.limit and not self.closed:
            self.in_progress += 1
            return None
        return self._refuse(now)

    def _refuse(self, now: float) -> int:
        if self._since is None:
            self._since = now
        self.refused += 1
        self._forget_before(now - PACE_WINDOW)
        self._refusals.append(now)
        # The appliances refused lately would need this long at the pace measured lately:
        # spread them over it (full jitter), so the next wave is no larger than the hub serves.
        window = min(PACE_WINDOW, max(1.0, now - self._since))
        pace = max(len(self._finished) / window, self.limit / ASSUMED_HANDSHAKE, 1.0)
        waiting = len(self._refusals) + len(self._line)
        spread = min(RETRY_CAP, max(RETRY_FLOOR, waiting / pace))
        return math.ceil(RETRY_FLOOR + self._uniform() * (spread - RETRY_FLOOR))

    def leave(self, now: float, *, finished: bool) -> None:
        """One admitted handshake is over: `finished` (welcomed or shown a code) or abandoned.

        Its slot goes to the first socket waiting in line, if any."""
        while self._line:
            turn = self._line.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot changes hands: `in_progress` stays
                break
        else:
            self.in_progress -= 1
        if finished:
            self.completed += 1
            self._finished.append(now)
            self._forget_before(now - PACE_WINDOW)

    def _forget_before(self, start: float) -> None:
        for times in (self._finished, self._refusals):
            while times and times[0] < start:
                times.popleft()


class _Closing(Exception):
    """The hub stops while a knock waits in line."""


def handshake_limit(per_core: int, cores: int | None) -> int:
    """The bound for a hub process with `cores` usable cores (None: unknown, taken as one)."""
    return max(1, per_core * max(1, cores or 1))


def usable_cores() -> int | None:
    """The cores this process may run on (its CPU affinity), None if unknown."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()
