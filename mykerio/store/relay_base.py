"""The repository protocol of the notification relay: its senders' counts and its blacklist."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mykerio.models import BlacklistEntry, RelaySender


class RelayRepository(Protocol):
    """What the relay keeps across restarts (written by its one actor, so plain upserts).

    Senders are keyed by `RelaySender.id`, blacklist entries by the lowercased address.
    """

    async def sender(self, sender_id: str) -> RelaySender | None:
        """One sender's record, or None if it never relayed."""
        ...

    async def save_sender(self, sender: RelaySender) -> None:
        """Write a sender's record (inserted or replaced)."""
        ...

    async def blacklist(self) -> list[BlacklistEntry]:
        """Every entry, released or not, by address."""
        ...

    async def save_blacklisted(self, entry: BlacklistEntry) -> None:
        """Write an entry (inserted or replaced)."""
        ...

    async def remove_blacklisted(self, address: str) -> bool:
        """Delete the entry of `address`; whether there was one."""
        ...

    async def delete_released(self, now: datetime) -> int:
        """Delete the entries released by `now`; how many."""
        ...
