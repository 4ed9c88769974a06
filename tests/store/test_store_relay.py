"""The relay contract: senders' records and the bounce blacklist. Runs on SQLite and MongoDB."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from mykerio.models import BlacklistEntry
from mykerio.relay.rules import new_sender
from mykerio.store import Store
from tests.store.factories import T0


def entry(address: str, days: int = 14) -> BlacklistEntry:
    """An entry bounced at T0, released `days` days later."""
    return BlacklistEntry(address, T0, T0, T0 + timedelta(days=days), 1, "550 user unknown")


async def test_sender_round_trips_and_is_replaced(store: Store) -> None:
    """A saved sender reads back as saved; saving it again replaces it."""
    assert await store.relay.sender("key:a") is None
    sender = dataclasses.replace(
        new_sender("key:a", T0),
        window_started_at=T0,
        window_count=3,
        bounced_recipients=("b@x.cz",),
    )
    await store.relay.save_sender(sender)
    assert await store.relay.sender("key:a") == sender
    later = dataclasses.replace(sender, window_count=4, updated_at=T0 + timedelta(seconds=1))
    await store.relay.save_sender(later)
    assert await store.relay.sender("key:a") == later
    assert await store.relay.sender("key:b") is None


async def test_blacklist_saves_removes_and_releases(store: Store) -> None:
    """Entries are listed by address, replaced, removed one by one and released in bulk."""
    await store.relay.save_blacklisted(entry("c@example.com", days=1))
    await store.relay.save_blacklisted(entry("a@example.com"))
    await store.relay.save_blacklisted(entry("b@example.com"))
    again = dataclasses.replace(entry("a@example.com"), bounces=2)
    await store.relay.save_blacklisted(again)
    listed = await store.relay.blacklist()
    assert [e.address for e in listed] == ["a@example.com", "b@example.com", "c@example.com"]
    assert listed[0] == again
    assert await store.relay.remove_blacklisted("b@example.com") is True
    assert await store.relay.remove_blacklisted("b@example.com") is False
    assert await store.relay.delete_released(T0 + timedelta(days=1)) == 1
    assert [e.address for e in await store.relay.blacklist()] == ["a@example.com"]
