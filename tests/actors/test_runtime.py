"""Tests of actors/runtime.py: loop-hosted pykka actors."""

from __future__ import annotations

import asyncio
import gc
import itertools
import threading
import weakref
from typing import Any

import pytest
import structlog
import structlog.testing
from pykka import ActorDeadError

from actors.runtime import AskTimeout, LoopActor, LoopRuntime, ask, stop


class Recorder(LoopActor):
    """Counts, records and fails on request."""

    kind = "recorder"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: list[Any] = []
        self.stopped_with: list[str] = []

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise ValueError("boom")
        if message == "cancel":
            raise asyncio.CancelledError
        if message == "seen":
            return list(self.seen)
        self.seen.append(message)
        return len(self.seen)

    async def slow_double(self, value: int, gate: asyncio.Event) -> int:
        self.seen.append(("start", value))
        await gate.wait()
        self.seen.append(("end", value))
        return value * 2

    async def stray_cancel(self) -> None:
        raise asyncio.CancelledError

    def on_stop(self) -> None:
        self.stopped_with.append("stopped")


@pytest.fixture
async def runtime() -> LoopRuntime:
    return LoopRuntime(asyncio.get_running_loop())


async def test_messages_are_handled_in_order_and_asks_answer(runtime: LoopRuntime) -> None:
    """Tells are handled in the order sent and an ask returns the handler's value."""
    ref = Recorder.start(runtime=runtime)
    for n in range(100):
        ref.tell(n)
    assert await ask(ref, "seen", timeout=1) == list(range(100))


async def test_async_handler_runs_one_message_at_a_time(runtime: LoopRuntime) -> None:
    """An awaiting handler holds back the actor's next message until it finishes."""
    ref = Recorder.start(runtime=runtime)
    proxy = ref.proxy()
    gate = asyncio.Event()
    first = proxy.slow_double(1, gate)
    second = proxy.slow_double(2, gate)
    with pytest.raises(AskTimeout):
        await ask(ref, "seen", timeout=0.05)  # busy: the first handler still awaits the gate
    gate.set()
    assert await first == 2
    assert await second == 4
    assert (await ask(ref, "seen", timeout=1)) == [
        ("start", 1),
        ("end", 1),
        ("start", 2),
        ("end", 2),
    ]


async def test_ask_error_goes_to_caller_and_actor_lives(runtime: LoopRuntime) -> None:
    """An exception from an asked handler reaches the caller; the actor keeps serving."""
    ref = Recorder.start(runtime=runtime)
    with pytest.raises(ValueError, match="boom"):
        await ask(ref, "boom", timeout=1)
    assert await ask(ref, "x", timeout=1) == 1


async def test_told_error_crashes_only_that_actor(runtime: LoopRuntime) -> None:
    """An exception from a told message ends that actor and no other."""
    exits: list[tuple[str, str]] = []
    runtime.on_exit = lambda actor, reason, error: exits.append((actor.name, reason))
    crashing = Recorder.start(runtime=runtime, name="crashing")
    bystander = Recorder.start(runtime=runtime, name="bystander")
    crashing.tell("boom")
    assert await ask(bystander, "x", timeout=1) == 1
    assert exits == [("crashing", "crashed")]
    assert not crashing.is_alive()
    with pytest.raises(ActorDeadError):
        crashing.tell("y")


async def test_stray_cancelled_error_crashes_only_that_actor(runtime: LoopRuntime) -> None:
    """A CancelledError escaping a handler (sync or async) does not stop other actors."""
    sync_victim = Recorder.start(runtime=runtime)
    async_victim = Recorder.start(runtime=runtime)
    bystander = Recorder.start(runtime=runtime)
    sync_victim.tell("cancel")
    with pytest.raises(ActorDeadError):
        await async_victim.proxy().stray_cancel()
    assert await ask(bystander, "x", timeout=1) == 1
    assert not sync_victim.is_alive()
    assert not async_victim.is_alive()
    assert bystander.is_alive()


async def test_stop_runs_on_stop_and_refuses_later_asks(runtime: LoopRuntime) -> None:
    """Stopping handles earlier messages, runs on_stop, then refuses new messages."""
    ref = Recorder.start(runtime=runtime)
    ref.tell("before")
    assert await stop(ref, timeout=1) is True
    with pytest.raises(ActorDeadError):
        await ask(ref, "after", timeout=1)
    assert await stop(ref, timeout=1) is False


class SelfAware(LoopActor):
    """Answers any message with a weak reference to itself."""

    def on_receive(self, message: Any) -> Any:
        return weakref.ref(self)


async def test_a_stopped_actor_is_freed_without_the_cyclic_collector(runtime: LoopRuntime) -> None:
    """Once stopped, an actor is freed by refcounting alone: gc.freeze() cannot make it leak."""
    ref = SelfAware.start(runtime=runtime)
    actor = await ask(ref, "who", timeout=1)
    gc.collect()
    gc.disable()
    try:
        assert await stop(ref, timeout=1) is True
        await asyncio.sleep(0)  # the dispatcher lets go of the actor once its slice is over
        assert actor() is None
    finally:
        gc.enable()


async def test_blocking_get_on_the_loop_is_refused(runtime: LoopRuntime) -> None:
    """A blocking get() on the loop thread raises instead of freezing the hub."""
    ref = Recorder.start(runtime=runtime)
    future = ref.ask("x", block=False)
    with pytest.raises(RuntimeError, match="block the event loop"):
        future.get()
    assert await future == 1


async def test_other_threads_can_tell_and_block_on_answers(runtime: LoopRuntime) -> None:
    """A worker thread may tell and get() answers while the loop keeps running."""
    ref = Recorder.start(runtime=runtime)

    def from_thread() -> Any:
        for n in range(10):
            ref.tell(n)
        return ref.ask("seen", block=False).get(timeout=5)

    result = await asyncio.get_running_loop().run_in_executor(None, from_thread)
    assert result == list(range(10))
    assert threading.current_thread() is threading.main_thread()


async def test_ask_timeout_raises(runtime: LoopRuntime) -> None:
    """An actor stuck in a long handler makes an ask with a timeout fail cleanly."""
    ref = Recorder.start(runtime=runtime)
    gate = asyncio.Event()
    ref.proxy().slow_double(1, gate)
    with pytest.raises(AskTimeout):
        await ask(ref, "x", timeout=0.05)
    gate.set()


async def test_ten_thousand_outstanding_asks_leave_the_loop_a_turn_every_slice(
    runtime: LoopRuntime,
) -> None:
    """With 10,000 asks in flight at once, the loop gets a turn (sockets, timers) after every
    slice of at most `slice_messages` messages: the backlog drains in hundreds of turns, never
    in one. (How long a turn waits in milliseconds is bench/actors.py's business.)"""
    loop = asyncio.get_running_loop()
    refs = [Recorder.start(runtime=runtime, name=f"a{n}") for n in range(10)]
    gate = asyncio.Event()
    held = [ref.proxy().slow_double(0, gate) for ref in refs]  # every actor busy until the gate
    clients = []
    for n in range(10_000):  # one task per ask, as one web request per ask would be
        clients.append(asyncio.create_task(ask(refs[n % 10], n, timeout=30)))
        if n % 100 == 99:  # clients arrive over many loop turns, as requests would
            await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert runtime.mailbox_depth_by_kind()["recorder"] == 10_000, "all asks outstanding"
    depths: list[int] = []
    done = False

    def turn() -> None:  # runs once per loop turn while the backlog drains
        depths.append(runtime.mailbox_depth_by_kind().get("recorder", 0))
        if not done:
            loop.call_soon(turn)

    loop.call_soon(turn)
    gate.set()
    answers = await asyncio.gather(*clients, *held)
    done = True
    assert len(answers) == 10_010
    assert depths[-1] == 0
    drained_per_turn = [before - after for before, after in itertools.pairwise(depths)]
    assert max(drained_per_turn) <= runtime.slice_messages, max(drained_per_turn)
    assert len(depths) >= 10_000 // runtime.slice_messages


async def test_actor_log_lines_carry_the_actor_name(runtime: LoopRuntime) -> None:
    """A line an actor logs names the actor and its kind, without the caller's context."""
    structlog.contextvars.bind_contextvars(request_id="req-123")
    try:
        with structlog.testing.capture_logs() as logs:
            ref = Recorder.start(runtime=runtime, name="org:42")
            ref.tell("boom")
            await until_dead(ref)
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    crash = next(entry for entry in logs if entry["event"] == "actor crashed")
    assert crash["actor"] == "org:42"
    assert crash["kind"] == "recorder"
    assert "request_id" not in crash


async def until_dead(ref: Any) -> None:
    """Let the loop turn until the actor has ended (bounded)."""
    for _ in range(100):
        if not ref.is_alive():
            return
        await asyncio.sleep(0)
    raise AssertionError("actor never ended")
