"""The supervisor: starts actors by key, finds them, restarts the ones that must live, stops all.

It is the parent of every long-lived actor. A child that crashes is reported here by the
runtime; if it was started with `restart=True` it is started again under the same key after a
capped exponential backoff (the doubling starts over once a child has run `reset_after` seconds
without crashing). On shutdown it refuses new children and stops the live ones in reverse start
order, logging one line per stopped actor, within a deadline.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

import structlog
from pykka import ActorRef

from actors.runtime import CRASHED, AskTimeout, LoopActor, LoopRuntime, stop
from mykerio.errors import Conflict, Unavailable

A = TypeVar("A", bound=LoopActor)

log = structlog.get_logger("actors.supervisor")


class Cancellable(Protocol):
    """What a scheduler returns: something that can be cancelled (an `asyncio.TimerHandle`)."""

    def cancel(self) -> None:
        """Forget the scheduled call."""
        ...


Scheduler = Callable[[float, Callable[[], None]], Cancellable]


@dataclasses.dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential restart delays."""

    initial: float = 0.1
    maximum: float = 30.0
    reset_after: float = 60.0

    def delay(self, crashes: int) -> float:
        """Seconds to wait before restart number `crashes` (1 for the first crash)."""
        return float(min(self.maximum, self.initial * 2 ** max(0, crashes - 1)))


@dataclasses.dataclass(slots=True)
class _Child:
    key: str
    actor_class: type[LoopActor]
    kwargs: dict[str, Any]
    restart: bool
    ref: ActorRef[Any] | None = None
    crashes: int = 0
    started_at: float = 0.0
    pending_restart: Cancellable | None = None


class ShuttingDown(Unavailable):
    """The hub is stopping and starts no new actors."""

    code = "shutting_down"


class Supervisor:
    """Owns the actors of one hub process, indexed by key, in start order."""

    def __init__(
        self,
        runtime: LoopRuntime,
        *,
        backoff: Backoff | None = None,
        schedule: Scheduler | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.backoff = backoff or Backoff()
        self._schedule: Scheduler = schedule or runtime.loop.call_later
        self._monotonic = monotonic
        self._children: dict[str, _Child] = {}
        self._by_urn: dict[str, _Child] = {}
        self.running = True
        self.restarts = 0
        runtime.on_exit = self._on_exit

    def start(
        self, key: str, actor_class: type[A], *, restart: bool = True, **kwargs: Any
    ) -> ActorRef[A]:
        """Start `actor_class` under `key`; `Conflict` if a child with that key exists."""
        if not self.running:
            raise ShuttingDown("the hub is shutting down")
        if key in self._children:
            raise Conflict(f"an actor with key {key!r} is already running")
        child = _Child(key=key, actor_class=actor_class, kwargs=kwargs, restart=restart)
        self._children[key] = child
        self._launch(child)
        assert child.ref is not None
        return child.ref

    def get(self, key: str) -> ActorRef[Any] | None:
        """The live actor under `key`, or None (also while it waits to be restarted)."""
        child = self._children.get(key)
        if child is None or child.ref is None or not child.ref.is_alive():
            return None
        return child.ref

    def get_or_start(
        self, key: str, actor_class: type[A], *, restart: bool = True, **kwargs: Any
    ) -> ActorRef[A]:
        """The live actor under `key`, started first if there is none (nor a pending restart)."""
        ref = self.get(key)
        if ref is not None:
            return ref
        child = self._children.get(key)
        if child is not None:
            # Crashed and waiting for its backoff: start it now, the caller needs it.
            if child.pending_restart is not None:
                child.pending_restart.cancel()
                child.pending_restart = None
            self._launch(child)
            assert child.ref is not None
            return child.ref
        return self.start(key, actor_class, restart=restart, **kwargs)

    def keys(self) -> Iterator[str]:
        """Keys of every child, in start order."""
        return iter(list(self._children))

    def __len__(self) -> int:
        return len(self._children)

    async def stop_child(self, key: str, *, timeout: float) -> bool:
        """Stop the child under `key` and forget it; False if there was none."""
        child = self._children.pop(key, None)
        if child is None:
            return False
        return await self._stop(child, timeout)

    async def stop_all(self, deadline: float) -> list[str]:
        """Stop every child in reverse start order within `deadline` seconds.

        Returns the keys of children that had not stopped when the deadline passed.
        """
        self.running = False
        end = self._monotonic() + deadline
        keys = list(reversed(self._children))
        for index, key in enumerate(keys):
            remaining = end - self._monotonic()
            if remaining <= 0:
                left = keys[index:]
                log.error("shutdown deadline reached", not_stopped=len(left), first=left[:10])
                return left
            child = self._children.pop(key, None)
            if child is None:
                continue  # it ended by itself while an earlier one was stopping
            await self._stop(child, remaining)
        return []

    def _launch(self, child: _Child) -> None:
        ref = child.actor_class.start(runtime=self.runtime, name=child.key, **child.kwargs)
        if child.ref is not None:
            self._by_urn.pop(child.ref.actor_urn, None)
        child.ref = ref
        child.started_at = self._monotonic()
        self._by_urn[ref.actor_urn] = child

    async def _stop(self, child: _Child, timeout: float) -> bool:
        if child.pending_restart is not None:
            child.pending_restart.cancel()
            child.pending_restart = None
        ref = child.ref
        if ref is None or not ref.is_alive():
            return False
        try:
            stopped = await stop(ref, timeout=timeout)
        except AskTimeout:
            log.error("actor did not stop in time", actor=child.key, kind=child.actor_class.kind)
            return False
        log.info("actor stopped", actor=child.key, kind=child.actor_class.kind)
        return stopped

    def _on_exit(self, actor: LoopActor, reason: str, error: BaseException | None) -> None:
        child = self._by_urn.pop(actor.actor_urn, None)
        if child is None:
            return
        if reason != CRASHED or not child.restart or not self.running:
            if self._children.get(child.key) is child:
                del self._children[child.key]
            return
        if self._monotonic() - child.started_at >= self.backoff.reset_after:
            child.crashes = 0
        child.crashes += 1
        delay = self.backoff.delay(child.crashes)
        log.warning(
            "restarting crashed actor",
            actor=child.key,
            kind=child.actor_class.kind,
            crashes=child.crashes,
            delay_seconds=delay,
            error=repr(error),
        )
        child.pending_restart = self._schedule(delay, lambda: self._restart(child))

    def _restart(self, child: _Child) -> None:
        child.pending_restart = None
        if not self.running or self._children.get(child.key) is not child:
            return
        self.restarts += 1
        self._launch(child)
