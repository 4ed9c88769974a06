"""Typed actor clients: calls by method, answers typed, dead actors and wrong methods refused."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actors.clients import ActorClient, ActorGone
from actors.futures import AskTimeout
from actors.runtime import LoopActor, LoopRuntime, stop


class Counter(LoopActor):
    kind = "counter"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.total = 0

    def add(self, amount: int, *, times: int = 1) -> int:
        self.total += amount * times
        return self.total

    async def slow_total(self, gate: asyncio.Event) -> int:
        await gate.wait()
        return self.total

    def fail(self) -> None:
        raise ValueError("refused by the actor")

    def _secret(self) -> int:
        return 42


class Other(LoopActor):
    kind = "other"

    def add(self, amount: int, *, times: int = 1) -> int:
        return -1


@pytest.fixture
async def counter() -> ActorClient[Counter]:
    runtime = LoopRuntime(asyncio.get_running_loop())
    ref = Counter.start(runtime=runtime)
    return ActorClient(ref, timeout=2.0)


async def test_a_call_runs_the_method_and_returns_its_answer(counter: ActorClient[Counter]) -> None:
    assert await counter.call(Counter.add, 2) == 2
    assert await counter.call(Counter.add, 3, times=2) == 8
    counter.tell(Counter.add, 1)
    gate = asyncio.Event()
    gate.set()
    assert await counter.call(Counter.slow_total, gate) == 9  # the tell came first


async def test_an_error_in_the_actor_reaches_the_caller(counter: ActorClient[Counter]) -> None:
    with pytest.raises(ValueError, match="refused by the actor"):
        await counter.call(Counter.fail)
    assert await counter.call(Counter.add, 1) == 1  # the actor lives on


async def test_a_slow_answer_times_out(counter: ActorClient[Counter]) -> None:
    counter.timeout = 0.05
    with pytest.raises(AskTimeout):
        await counter.call(Counter.slow_total, asyncio.Event())


async def test_a_stopped_actor_is_unavailable_and_a_tell_to_it_is_dropped(
    counter: ActorClient[Counter],
) -> None:
    await stop(counter._ref, timeout=2.0)
    assert not counter.alive
    with pytest.raises(ActorGone):
        await counter.call(Counter.add, 1)
    counter.tell(Counter.add, 1)


async def test_private_methods_and_methods_of_another_class_are_refused(
    counter: ActorClient[Counter],
) -> None:
    with pytest.raises(TypeError, match="not a public method of Counter"):
        await counter.call(Counter._secret)
    wrong: Any = Other.add
    with pytest.raises(TypeError, match="not a public method of Counter"):
        await counter.call(wrong, 1)
    with pytest.raises(TypeError):
        counter.tell(lambda actor: None)
