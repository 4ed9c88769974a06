"""Tests of actors/housekeeping.py: expired records go, current ones stay, on a schedule."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from actors.housekeeping import SWEEP, HousekeepingActor, Swept
from actors.runtime import LoopRuntime, ask, stop
from mykerio.accounts.policy import AccountPolicy
from mykerio.clock import FakeClock
from mykerio.models import AccessEvent, Session, User, new_id
from mykerio.store import Store


async def test_sweep_deletes_expired_records_and_keeps_current_ones(store: Store) -> None:
    """Audit records past retention and sessions ended over a day ago are deleted; recent
    ones (also a just-expired session, so its browser hears "expired") stay."""
    clock = FakeClock()
    now = clock.now()
    user = await store.users.add(User(new_id(), "ana@acme.example", "Ana", "x", now, now))
    for age_days, event_id in ((400, "old"), (10, "recent")):
        await store.audit.add(
            AccessEvent(
                event_id,
                user.id,
                user.email,
                now - timedelta(days=age_days),
                "127.0.0.1",
                "ua",
                "login",
                "",
            )
        )
    for idle, persistent, key in (
        (timedelta(days=2), False, "idle"),
        (timedelta(minutes=20), False, "active"),
        (timedelta(days=2), True, "kept"),
    ):
        at = now - idle
        await store.sessions.add(Session(key, user.id, at, at, persistent, "127.0.0.1", "ua"))
    scheduled: list[tuple[float, Callable[[], None]]] = []

    def schedule(delay: float, callback: Callable[[], None]) -> _Handle:
        scheduled.append((delay, callback))
        return _Handle()

    actor = HousekeepingActor.start(
        runtime=LoopRuntime(asyncio.get_running_loop()),
        store=store,
        clock=clock,
        policy=AccountPolicy(audit_retention=timedelta(days=365)),
        interval=3600,
        schedule=schedule,
    )
    swept: Swept = await ask(actor, SWEEP, timeout=5)
    assert swept.audit_events == 1
    assert swept.sessions == 1
    assert await store.sessions.get("idle") is None
    assert await store.sessions.get("active") is not None
    assert await store.sessions.get("kept") is not None
    remaining = await store.audit.query(user_ids=[user.id], limit=10)
    assert [event.id for event in remaining] == ["recent"]
    assert scheduled[-1][0] == 3600, "the next sweep is an interval away"
    await stop(actor, timeout=5)


class _Handle:
    def cancel(self) -> Any:
        return None
