"""The supervisor: starts actors by key, finds them, restarts the ones that must live, stops all.

It is the parent of every long-lived actor. A child that crashes is reported here by the
runtime; if it was started with `restart=True` it is started again under the same key after a
capped exponential backoff (the doubling starts over once a child has run `reset_after` seconds
without crashing). On shutdown it refuses new children and stops the live ones in reverse start
order, logging one line per stopped actor, within a deadline; consecutive leaves whose class
allows it (`stop_together`: one appliance actor per connected appliance) are stopped as a batch
with one line for the batch, so that 20,000 of them do not take 20,000 sequential round trips.
It can also tell a `HeapFreezer` of every actor it launches.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import dataclasses
import gc
import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

import pykka
import structlog
from pykka import ActorDeadError, ActorRef

from actors.runtime import CRASHED, AskTimeout, LoopActor, LoopRuntime, request_stop, stop
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


# The cyclic collector's thresholds the hub runs with, beside a `HeapFreezer`: a young
# collection every 10,000 net allocations rather than 700, so the loop is interrupted about 20
# times less often; with the actors frozen, each collection still takes a few milliseconds.
GC_THRESHOLDS = (10_000, 10, 10)


class HeapFreezer:
    """Moves actors started after start-up out of reach of the cyclic collector's full scans.

    The hub calls `gc.freeze()` once started; actors started later (one per connected
    appliance) stay in the collector's oldest generation, and each full collection scans them
    all while the loop waits: 224 ms at 50,000 actors. Once `every` actors have been launched
    since the last freeze, this freezes the heap `delay` seconds later (on a loop turn of its
    own, once for all launches meanwhile), after a collection of what is not frozen yet, so
    that no garbage is frozen with them, and gives freed C heap back to the system. An ended
    actor is still freed, by refcounting (`LoopActor._exit` breaks its one cycle).
    """

    def __init__(
        self,
        schedule: Scheduler,
        *,
        every: int = 1000,
        delay: float = 0.1,
        freeze: Callable[[], None] = gc.freeze,
    ) -> None:
        self.every = every
        self.delay = delay
        self.freezes = 0
        self._schedule = schedule
        self._freeze_heap = freeze
        self._launched = 0
        self._pending: Cancellable | None = None

    def launched(self) -> None:
        """One more actor was started."""
        self._launched += 1
        if self._launched >= self.every and self._pending is None:
            self._pending = self._schedule(self.delay, self._freeze)

    def _freeze(self) -> None:
        self._pending = None
        self._launched = 0
        # A full collection, so that no cyclic garbage is frozen for good. It is cheap: objects
        # frozen before are not scanned again, only those allocated since the last freeze.
        gc.collect()
        self._freeze_heap()
        # A burst (a reconnect storm's TLS handshakes) leaves freed memory in the C heap that
        # glibc keeps; hand it back, so the hub's RSS reflects what it holds.
        _malloc_trim()
        self.freezes += 1


def _load_malloc_trim() -> Callable[[], None]:
    """glibc's `malloc_trim(0)`, or a no-op where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    if trim is None:
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def release() -> None:
        trim(0)

    return release


_malloc_trim = _load_malloc_trim()


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
        freezer: HeapFreezer | None = None,
    ) -> None:
        self.runtime = runtime
        self.backoff = backoff or Backoff()
        self.freezer = freezer
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
            self._cancel_restart(child)
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

        A run of consecutive children (in that order) whose class sets `stop_together` is
        stopped as one batch: all are asked at once and awaited together. Returns the keys of
        children that had not stopped when the deadline passed.
        """
        self.running = False
        end = self._monotonic() + deadline
        batches = self._shutdown_batches()
        for index, batch in enumerate(batches):
            remaining = end - self._monotonic()
            if remaining <= 0:
                return self._deadline_reached([c.key for b in batches[index:] for c in b])
            # A child that ended by itself while an earlier one was stopping is gone: skip it.
            live = [child for child in batch if self._children.pop(child.key, None) is child]
            still_running = await self._stop_batch(live, remaining)
            if still_running:
                rest = [c.key for b in batches[index + 1 :] for c in b]
                return self._deadline_reached(still_running + rest)
        return []

    def _shutdown_batches(self) -> list[list[_Child]]:
        """Children in reverse start order; each run of one `stop_together` kind is one batch."""

        def batch(child: _Child) -> tuple[bool, str]:
            together = child.actor_class.stop_together
            return together, child.actor_class.kind if together else child.key

        children = reversed(self._children.values())
        return [list(run) for _, run in itertools.groupby(children, batch)]

    async def _stop_batch(self, batch: list[_Child], timeout: float) -> list[str]:
        """Ask every child of `batch` to stop, then await them together within `timeout`.

        Returns the keys of those still running when the timeout passed. A `stop_together`
        batch logs one line for all its actors: at 20,000 actors, a line each took longer
        (about 1.8 s of JSON logging) than stopping them.
        """
        if not batch:
            return []
        kind, together = batch[0].actor_class.kind, batch[0].actor_class.stop_together
        asked: list[tuple[_Child, pykka.Future[Any]]] = []
        running: list[str] = []
        stopped = 0
        try:
            async with asyncio.timeout(timeout):
                for child in batch:
                    self._cancel_restart(child)
                    if child.ref is not None and child.ref.is_alive():
                        asked.append((child, request_stop(child.ref)))
                        if len(asked) % self.runtime.slice_messages == 0:
                            await asyncio.sleep(0)  # asking 20,000 in one go stalls the loop
                # One wait for the whole batch: a future already resolved costs no loop turn.
                for child, future in asked:
                    try:
                        await future
                    except ActorDeadError:
                        continue  # it ended by itself after it was asked
                    stopped += 1
                    if not together:
                        log.info("actor stopped", actor=child.key, kind=kind)
        except TimeoutError:
            running = [child.key for child in batch if self._is_running(child)]
            stopped = sum(1 for child, _ in asked if not self._is_running(child))
        if together:
            log.info("actors stopped", kind=kind, count=stopped)
        return running

    def _is_running(self, child: _Child) -> bool:
        # `_on_exit` forgets the urn of every child that ends.
        return child.ref is not None and child.ref.actor_urn in self._by_urn

    def _deadline_reached(self, left: list[str]) -> list[str]:
        log.error("shutdown deadline reached", not_stopped=len(left), first=left[:10])
        return left

    def _launch(self, child: _Child) -> None:
        ref = child.actor_class.start(runtime=self.runtime, name=child.key, **child.kwargs)
        if child.ref is not None:
            self._by_urn.pop(child.ref.actor_urn, None)
        child.ref = ref
        child.started_at = self._monotonic()
        self._by_urn[ref.actor_urn] = child
        if self.freezer is not None:
            self.freezer.launched()

    def _cancel_restart(self, child: _Child) -> None:
        if child.pending_restart is not None:
            child.pending_restart.cancel()
            child.pending_restart = None

    async def _stop(self, child: _Child, timeout: float) -> bool:
        self._cancel_restart(child)
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
