"""Per-address limits on the link emails anyone can make the hub send: reset, confirmation and
invitation.

Each kind is counted on its own: at most 3 emails of one kind to one address in 15 minutes. Past
the limit nothing is sent and nothing else changes (earlier links keep working), and the caller
answers exactly as when it sends, so the limit neither floods a mailbox nor tells whether an
address has an account. The counts live in the store's throttle table, so they hold across actors
and processes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from mykerio.clock import Clock
from mykerio.models import email_key
from mykerio.store.base import Store

MailKind = Literal["reset", "confirmation", "invitation"]

PER_ADDRESS = 3
WINDOW = timedelta(minutes=15)


class MailLimits:
    """Counts link emails per kind and address."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        per_address: int = PER_ADDRESS,
        window: timedelta = WINDOW,
    ) -> None:
        self._store = store
        self._clock = clock
        self._per_address = per_address
        self._window = window

    async def allow(self, kind: MailKind, address: str) -> bool:
        """Count one email of `kind` to `address`; False if it would pass the limit."""
        key = f"mail:{kind}:{email_key(address.strip())}"
        count = await self._store.throttle.record(key, self._clock.now(), self._window)
        return count <= self._per_address
