"""Tests of mykerio/mail/limits.py on both stores: 3 emails of a kind per address in 15 minutes."""

from __future__ import annotations

from mykerio.clock import FakeClock
from mykerio.mail.limits import MailLimits
from mykerio.store import Store


async def test_three_per_kind_and_address_then_none_until_the_window_passes(
    store: Store,
) -> None:
    """The 4th email of a kind to an address (in any letter case) within 15 minutes is not
    allowed; other kinds and addresses are counted apart; after 15 minutes it is allowed."""
    clock = FakeClock()
    limits = MailLimits(store, clock)
    assert [await limits.allow("reset", "Ana@Acme.example") for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert await limits.allow("reset", "ana@acme.example") is False
    assert await limits.allow("confirmation", "ana@acme.example")
    assert await limits.allow("reset", "bob@acme.example")
    clock.advance(15 * 60 + 1)
    assert await limits.allow("reset", "ana@acme.example")
