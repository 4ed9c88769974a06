"""Throttles: how many attempts of one kind an account may make within a sliding window.

`take` records the attempt first and then counts, so concurrent attempts — even through
different actors or processes — can never all slip under the limit: each sees the others.
`check` only looks (for limits counted on failures, such as wrong passwords).
"""

from __future__ import annotations

import math
from datetime import timedelta

from mykerio.clock import Clock
from mykerio.errors import TooManyRequests
from mykerio.store.base import Store


class Throttle:
    """Counts attempts per key in the store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def check(self, key: str, limit: int, window: timedelta) -> None:
        """Refuse with `TooManyRequests` if `key` already has `limit` attempts in the window."""
        since = self._clock.now() - window
        if await self._store.throttle.count(key, since) >= limit:
            await self._refuse(key, window)

    async def take(self, key: str, limit: int, window: timedelta) -> None:
        """Record one attempt; refuse if that makes more than `limit` in the window."""
        count = await self._store.throttle.record(key, self._clock.now(), window)
        if count > limit:
            await self._refuse(key, window)

    async def fail(self, key: str, window: timedelta) -> None:
        """Record one failed attempt (counted by `check`)."""
        await self._store.throttle.record(key, self._clock.now(), window)

    async def clear(self, key: str) -> None:
        """Start the count over (after a success)."""
        await self._store.throttle.clear(key)

    async def _refuse(self, key: str, window: timedelta) -> None:
        now = self._clock.now()
        oldest = await self._store.throttle.oldest_since(key, now - window)
        retry_after = max(1, math.ceil(((oldest or now) + window - now).total_seconds()))
        minutes = max(1, math.ceil(retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        raise TooManyRequests(f"Too many attempts. Try again in {minutes} {unit}.", retry_after)
