"""Tests of actors/supervisor.py: start by key, restart with backoff, ordered shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import structlog.testing

from actors.runtime import LoopActor, LoopRuntime, ask
from actors.supervisor import Backoff, HeapFreezer, ShuttingDown, Supervisor
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


class Leaf(Worker):
    """An independent leaf (like an appliance actor): may be stopped with others of its kind."""

    kind = "leaf"
    stop_together = True


class BarrierLeaf(Leaf):
    """Finishes stopping only once every leaf sharing its barrier has begun to stop."""

    def __init__(self, *, barrier: asyncio.Barrier, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.barrier = barrier

    async def on_stop(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
        self.journal.append(f"begin {self.name}")
        await self.barrier.wait()
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
    """A child that will not stop uses up the deadline; it and the rest are returned unawaited."""

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
    assert left == ["stuck", "ok"]
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


async def test_leaves_stop_together_before_the_children_started_earlier(setup: Any) -> None:
    """A run of stop_together leaves is stopped at once; older children then stop in reverse."""
    supervisor, _, _ = setup
    journal: list[str] = []
    for key in ("mailer", "org:1", "org:2"):
        supervisor.start(key, Worker, journal=journal)
    # Each leaf waits for all five to have begun stopping: one at a time, none would finish.
    barrier = asyncio.Barrier(5)
    leaves = [f"appliance:{n}" for n in range(5)]
    for key in leaves:
        supervisor.start(key, BarrierLeaf, restart=False, journal=journal, barrier=barrier)
    journal.clear()
    assert await supervisor.stop_all(deadline=5) == []
    assert sorted(journal[:5]) == sorted(f"begin {key}" for key in leaves)
    assert sorted(journal[5:10]) == sorted(f"stop {key}" for key in leaves)
    assert journal[10:] == ["stop org:2", "stop org:1", "stop mailer"]


async def test_only_consecutive_leaves_of_one_kind_form_a_batch(setup: Any) -> None:
    """An older child between leaves keeps its place in reverse start order, as do other kinds."""

    class OtherLeaf(Leaf):
        kind = "other-leaf"

    supervisor, _, _ = setup
    journal: list[str] = []
    supervisor.start("appliance:1", Leaf, journal=journal)
    supervisor.start("org:1", Worker, journal=journal)
    supervisor.start("appliance:2", Leaf, journal=journal)
    supervisor.start("appliance:3", Leaf, journal=journal)
    supervisor.start("other:1", OtherLeaf, journal=journal)
    journal.clear()
    with structlog.testing.capture_logs() as logs:
        assert await supervisor.stop_all(deadline=5) == []
    assert journal[0] == "stop other:1"
    assert sorted(journal[1:3]) == ["stop appliance:2", "stop appliance:3"]
    assert journal[3:] == ["stop org:1", "stop appliance:1"]
    assert [(log["event"], log["kind"], log.get("count")) for log in logs] == [
        ("actors stopped", "other-leaf", 1),
        ("actors stopped", "leaf", 2),
        ("actor stopped", "worker", None),
        ("actors stopped", "leaf", 1),
    ]


async def test_leaves_that_miss_the_deadline_are_reported_with_the_rest() -> None:
    """A stuck leaf ends its batch's wait at the deadline; it and older children are returned."""

    class StuckLeaf(Leaf):
        async def on_stop(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
            await asyncio.Event().wait()

    supervisor = Supervisor(LoopRuntime(asyncio.get_running_loop()))
    journal: list[str] = []
    supervisor.start("org:1", Worker, journal=journal)
    supervisor.start("appliance:1", Leaf, journal=journal)
    supervisor.start("appliance:2", StuckLeaf, journal=journal)
    supervisor.start("appliance:3", Leaf, journal=journal)
    journal.clear()
    with structlog.testing.capture_logs() as logs:
        left = await supervisor.stop_all(deadline=0.1)
    assert left == ["appliance:2", "org:1"]
    assert sorted(journal) == ["stop appliance:1", "stop appliance:3"]
    assert {"event": "actors stopped", "kind": "leaf", "count": 2, "log_level": "info"} in logs


async def test_leaves_that_end_meanwhile_are_skipped() -> None:
    """Leaves that end by themselves while an older-started child stops are not waited for."""

    class Slow(Worker):
        async def on_stop(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
            for key in ("appliance:1", "appliance:2"):
                ref = supervisor.get(key)
                assert ref is not None
                ref.tell("crash")
            await asyncio.sleep(0)
            await asyncio.sleep(0)

    supervisor = Supervisor(LoopRuntime(asyncio.get_running_loop()))
    journal: list[str] = []
    supervisor.start("appliance:1", Leaf, restart=False, journal=journal)
    supervisor.start("appliance:2", Leaf, restart=False, journal=journal)
    supervisor.start("org:1", Slow, journal=journal)
    assert await supervisor.stop_all(deadline=5) == []
    assert journal == ["start appliance:1", "start appliance:2", "start org:1"]


async def test_heap_freezer_freezes_once_after_each_burst_of_launches() -> None:
    """Launches past `every` schedule one freeze; the count starts over once it has run."""
    scheduler = FakeScheduler()
    freezes: list[str] = []
    freezer = HeapFreezer(scheduler, every=3, delay=0.5, freeze=lambda: freezes.append("freeze"))
    supervisor = Supervisor(
        LoopRuntime(asyncio.get_running_loop()), schedule=scheduler, freezer=freezer
    )
    for n in range(5):
        supervisor.start(f"appliance:{n}", Leaf, restart=False, journal=[])
    assert [delay for delay, _ in scheduler.calls] == [0.5]
    assert freezes == []
    scheduler.fire_next()
    assert freezes == ["freeze"]
    for n in range(5, 7):
        supervisor.start(f"appliance:{n}", Leaf, restart=False, journal=[])
    assert scheduler.calls == []
    supervisor.start("appliance:7", Leaf, restart=False, journal=[])
    scheduler.fire_next()
    assert freezes == ["freeze", "freeze"]
    assert freezer.freezes == 2
