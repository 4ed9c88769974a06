"""Tests of actors/supervisor.py: start by key, restart with backoff, ordered shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from actors.runtime import LoopActor, LoopRuntime, ask
from actors.supervisor import Backoff, ShuttingDown, Supervisor
from mykerio.errors import Conflict


class Worker(LoopActor):
    """Remembers its generation; crashes when told "crash"; records when it stops."""

    kind = "worker"

    def __init__(self, *, journal: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.journal = journal
        self.journal.append(f"start {self.name}")

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError("crash on purpose")
        return self.actor_urn

    async def on_stop(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
        await asyncio.sleep(0)
        self.journal.append(f"stop {self.name}")


class FakeScheduler:
    """Records requested delays; the test fires them by hand (a fake clock for backoff)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> Any:
        self.calls.append((delay, callback))
        return asyncio.get_running_loop().call_later(3600, lambda: None)

    def fire_next(self) -> float:
        delay, callback = self.calls.pop(0)
        callback()
        return delay


@pytest.fixture
async def setup() -> tuple[Supervisor, FakeScheduler, list[float]]:
    now = [0.0]
    scheduler = FakeScheduler()
    supervisor = Supervisor(
        LoopRuntime(asyncio.get_running_loop()),
        backoff=Backoff(initial=0.5, maximum=4.0, reset_after=60.0),
        schedule=scheduler,
        monotonic=lambda: now[0],
    )
    return supervisor, scheduler, now


async def until(predicate: Callable[[], bool]) -> None:
    """Let the loop turn until `predicate` holds (bounded)."""
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_crashed_actor_restarts_under_its_key_with_capped_backoff(setup: Any) -> None:
    """A crashing actor comes back under the same key after 0.5, 1, 2, 4, 4 s delays."""
    supervisor, scheduler, _ = setup
    journal: list[str] = []
    first = supervisor.start("org:1", Worker, journal=journal)
    first_urn = await ask(first, "who", timeout=1)
    delays = []
    for _ in range(5):
        ref = supervisor.get("org:1")
        assert ref is not None
        ref.tell("crash")
        await until(lambda: bool(scheduler.calls))
        assert supervisor.get("org:1") is None  # waiting out its backoff
        delays.append(scheduler.fire_next())
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]
    again = supervisor.get("org:1")
    assert again is not None
    assert await ask(again, "who", timeout=1) != first_urn
    assert supervisor.restarts == 5
    assert journal.count("start org:1") == 6


async def test_backoff_starts_over_after_a_stable_run(setup: Any) -> None:
    """A child that ran longer than reset_after restarts after the initial delay again."""
    supervisor, scheduler, now = setup
    ref = supervisor.start("mailer", Worker, journal=[])
    ref.tell("crash")
    await until(lambda: bool(scheduler.calls))
    assert scheduler.fire_next() == 0.5
    supervisor.get("mailer").tell("crash")
    await until(lambda: bool(scheduler.calls))
    assert scheduler.fire_next() == 1.0
    now[0] += 61
    supervisor.get("mailer").tell("crash")
    await until(lambda: bool(scheduler.calls))
    assert scheduler.fire_next() == 0.5


async def test_temporary_child_is_not_restarted(setup: Any) -> None:
    """A child started with restart=False is forgotten when it crashes."""
    supervisor, scheduler, _ = setup
    ref = supervisor.start("appliance:9", Worker, restart=False, journal=[])
    ref.tell("crash")
    await until(lambda: not ref.is_alive())
    await until(lambda: "appliance:9" not in list(supervisor.keys()))
    assert scheduler.calls == []


async def test_duplicate_key_is_refused(setup: Any) -> None:
    """Starting a second actor under a live key raises Conflict."""
    supervisor, _, _ = setup
    supervisor.start("org:1", Worker, journal=[])
    with pytest.raises(Conflict):
        supervisor.start("org:1", Worker, journal=[])


async def test_stop_all_stops_in_reverse_start_order(setup: Any) -> None:
    """Shutdown stops children last-started first, including a restarted one in its place."""
    supervisor, scheduler, _ = setup
    journal: list[str] = []
    for key in ("mailer", "org:1", "org:2", "appliance:1"):
        supervisor.start(key, Worker, journal=journal)
    supervisor.get("org:1").tell("crash")
    await until(lambda: bool(scheduler.calls))
    scheduler.fire_next()
    journal.clear()
    assert await supervisor.stop_all(deadline=5) == []
    assert journal == ["stop appliance:1", "stop org:2", "stop org:1", "stop mailer"]
    with pytest.raises(ShuttingDown):
        supervisor.start("late", Worker, journal=journal)


async def test_stop_all_respects_its_deadline() -> None:
    """A child that will not stop uses up the deadline; the rest are reported, not awaited."""

    class Stuck(Worker):
        async def on_stop(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
            await asyncio.Event().wait()

    loop = asyncio.get_running_loop()
    supervisor = Supervisor(LoopRuntime(loop))
    journal: list[str] = []
    supervisor.start("ok", Worker, journal=journal)
    supervisor.start("stuck", Stuck, journal=journal)
    started = loop.time()
    left = await supervisor.stop_all(deadline=0.1)
    assert loop.time() - started < 1.0
    assert left == ["ok"]
    assert "stop ok" not in journal


async def test_stop_all_skips_children_that_end_meanwhile() -> None:
    """A child that ends by itself while shutdown stops another is skipped, not an error."""

    class Slow(Worker):
        async def on_stop(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
            # While this one stops, another child ends on its own (an appliance hanging up).
            other = self.sibling()
            if other is not None:
                other.tell("crash")
            await asyncio.sleep(0)
            await asyncio.sleep(0)

        def sibling(self) -> Any:
            return supervisor.get("appliance:1")

    supervisor = Supervisor(LoopRuntime(asyncio.get_running_loop()))
    journal: list[str] = []
    supervisor.start("appliance:1", Worker, restart=False, journal=journal)
    supervisor.start("org:1", Slow, journal=journal)
    # Reverse start order stops org:1 first; appliance:1 crashes meanwhile and is forgotten.
    assert await supervisor.stop_all(deadline=5) == []
