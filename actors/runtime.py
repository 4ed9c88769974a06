"""The actor runtime: pykka actors whose inboxes are served by the asyncio event loop.

pykka's `ThreadingActor` costs an OS thread and ~24 KB per actor and its throughput collapses
past a few thousand actors (DESIGN.md section 3). `LoopActor` keeps pykka's API (`tell`, `ask`,
proxies, `on_start`/`on_stop`/`on_failure`) but plugs into pykka's three runtime hooks so that:

- the inbox is a deque; `put` from the loop thread is a plain append, from any other thread it
  hops onto the loop with `call_soon_threadsafe`;
- one `LoopRuntime` per event loop dispatches every actor's messages in slices of at most
  `slice_seconds`, then yields so sockets and timers run: a burst of 10,000 messages cannot
  stall the loop, and an idle actor costs no task at all;
- a handler may be `async def`; the actor then waits for it (one message at a time, so actor
  state needs no locks) while other actors go on;
- futures are awaitable without blocking (`LoopFuture.__await__`), and a blocking `get()` on
  the loop thread raises instead of freezing the hub.

It also files off pykka's sharp edges: actors are not put in pykka's global `ActorRegistry`
(a list, so unregistering is O(N) — the supervisor keeps its own index by key), and a
`BaseException` such as a stray `CancelledError` from a handler crashes only that actor instead
of making pykka stop every actor in the process.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import queue
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Self

import pykka
import structlog
from pykka import ActorDeadError, ActorRef
from pykka._envelope import Envelope
from pykka.messages import _ActorStop

from actors.futures import AskTimeout, ExcInfo, LoopFuture, answer

__all__ = [
    "CRASHED",
    "STOPPED",
    "AskTimeout",
    "LoopActor",
    "LoopFuture",
    "LoopRuntime",
    "answer",
    "ask",
    "request_stop",
    "stop",
]

_LOG = structlog.get_logger("actors")
# Why an actor ended, as reported to the runtime's exit listener.
STOPPED = "stopped"
CRASHED = "crashed"


class _StoppedFlag:
    """What pykka reads as `actor_stopped`: a flag, without threading.Event's lock and condition."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True


class LoopInbox:
    """An actor's mailbox: a deque served by the runtime's dispatcher."""

    __slots__ = ("_actor", "items")

    def __init__(self) -> None:
        self.items: deque[Envelope[Any]] = deque()
        self._actor: LoopActor | None = None

    def bind(self, actor: LoopActor | None) -> None:
        """Attach the inbox to its actor (pykka makes the inbox before the actor is ready), or
        detach it (None) once the actor has ended."""
        self._actor = actor

    def put(self, envelope: Envelope[Any], /) -> None:
        """Queue a message; safe from any thread."""
        actor = self._actor
        if actor is None:
            msg = "inbox used before its actor was constructed or after it ended"
            raise RuntimeError(msg)
        runtime = actor.runtime
        if threading.get_ident() != runtime.thread_id:
            runtime.loop.call_soon_threadsafe(self.put, envelope)
            return
        self.items.append(envelope)
        runtime.notify(actor)

    def get(self) -> Envelope[Any]:
        """Take the oldest message; raises `queue.Empty` when there is none."""
        try:
            return self.items.popleft()
        except IndexError:
            raise queue.Empty from None

    def empty(self) -> bool:
        """Whether no message waits."""
        return not self.items

    def __len__(self) -> int:
        return len(self.items)


ExitListener = Callable[["LoopActor", str, BaseException | None], None]


class LoopRuntime:
    """Dispatches the messages of every `LoopActor` of one event loop, in bounded slices.

    Make it on the loop's thread. It keeps the set of live actors (for metrics) and tells an
    optional exit listener — the supervisor — when an actor stops or crashes.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        slice_seconds: float = 0.002,
        slice_messages: int = 256,
        on_exit: ExitListener | None = None,
    ) -> None:
        self.loop = loop
        self.thread_id = threading.get_ident()
        self.slice_seconds = slice_seconds
        # Each answered ask wakes a waiting task on the next loop turn, so a slice is also
        # capped in messages: the wake-ups it causes must fit in the lag budget too.
        self.slice_messages = slice_messages
        self.on_exit = on_exit
        self.live: set[LoopActor] = set()
        self._ready: deque[LoopActor] = deque()
        self._scheduled = False
        # Actor code runs in a context of its own, not in that of whichever request happened
        # to wake the dispatcher, so a request's log bindings never leak into actor logs.
        self._context = contextvars.Context()

    def notify(self, actor: LoopActor) -> None:
        """Mark `actor` as having work; the dispatcher runs it soon."""
        if actor.queued or actor.busy or actor.exited:
            return
        actor.queued = True
        self._ready.append(actor)
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self._dispatch, context=self._context)

    def call_in_context(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the loop soon, in the actors' context."""
        self.loop.call_soon(callback, context=self._context)

    def _dispatch(self) -> None:
        deadline = time.perf_counter() + self.slice_seconds
        budget = self.slice_messages
        ready = self._ready
        while ready and budget > 0:
            actor = ready.popleft()
            actor.queued = False
            budget = actor.run_until(deadline, budget)
            if time.perf_counter() >= deadline:
                break
        if ready:
            self.loop.call_soon(self._dispatch, context=self._context)
        else:
            self._scheduled = False

    def counts_by_kind(self) -> Counter[str]:
        """Live actors per kind."""
        return Counter(actor.kind for actor in self.live)

    def mailbox_depth_by_kind(self) -> Counter[str]:
        """Messages waiting, summed per actor kind."""
        depth: Counter[str] = Counter()
        for actor in self.live:
            depth[actor.kind] += len(actor.actor_inbox.items)
        return depth

    def exited(self, actor: LoopActor, reason: str, error: BaseException | None) -> None:
        """Called by an actor when it ends."""
        self.live.discard(actor)
        if self.on_exit is not None:
            self.on_exit(actor, reason, error)


class LoopActor(pykka.Actor):
    """A pykka actor served by a `LoopRuntime`; subclasses may write `async def` handlers.

    Construct through `start(runtime=..., name=...)` on the loop thread. `kind` names the class
    of actor in metrics and logs; `name` names this one (the supervisor passes its key).
    `stop_together` says that actors of this class are independent leaves: nothing waits on
    them while it stops, so at shutdown the supervisor may stop many of them at once.
    """

    kind: ClassVar[str] = "actor"
    stop_together: ClassVar[bool] = False
    actor_inbox: LoopInbox

    @property
    def log(self) -> Any:
        """This actor's logger, bound to its name and kind. Made per use, not kept: a bound
        logger is ~1.4 KB, and a hub keeps an actor per linked appliance (19,000 of them)."""
        return _LOG.bind(actor=self.name, kind=self.kind)

    def __init__(self, *, runtime: LoopRuntime, name: str | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.name = name or self.kind
        self.queued = False
        self.busy = False
        self.exited = False
        self._task: asyncio.Task[None] | None = None
        self.actor_inbox.bind(self)
        flag = _StoppedFlag()
        self.actor_stopped = flag  # type: ignore[assignment]
        self.actor_ref.actor_stopped = flag  # type: ignore[assignment]

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> ActorRef[Self]:
        """Construct the actor and schedule its `on_start`; returns its ref at once.

        Unlike pykka's `start`, this does not register the actor in pykka's global registry.
        """
        actor = cls(*args, **kwargs)
        actor._start_actor_loop()
        return actor.actor_ref

    def on_start(self) -> Any:
        """Run before the first message; may be `async def`."""

    def on_stop(self) -> Any:
        """Run when asked to stop, after earlier messages; may be `async def`."""

    @staticmethod
    def _create_actor_inbox() -> LoopInbox:
        return LoopInbox()

    @staticmethod
    def _create_future() -> LoopFuture[Any]:
        return LoopFuture()

    def _start_actor_loop(self) -> None:
        if threading.get_ident() != self.runtime.thread_id:
            msg = "LoopActor.start() must be called on the event loop's thread"
            raise RuntimeError(msg)
        self.runtime.live.add(self)
        self.busy = True
        self.runtime.call_in_context(self._begin)

    def _begin(self) -> None:
        try:
            result = self.on_start()
        except Exception as exc:  # noqa: BLE001 - a failing on_start crashes this actor only
            self._crash(exc)
            return
        if inspect.isawaitable(result):
            self._task = self.runtime.loop.create_task(self._await_start(result))
        else:
            self._ready_for_messages()

    async def _await_start(self, awaitable: Awaitable[Any]) -> None:
        try:
            await awaitable
        except BaseException as exc:
            self._crash(exc)
            if _being_cancelled():
                raise
            return
        finally:
            self._task = None
        self._ready_for_messages()

    def _ready_for_messages(self) -> None:
        self.busy = False
        if self.actor_inbox.items:
            self.runtime.notify(self)

    def run_until(self, deadline: float, budget: int) -> int:
        """Handle queued messages until none is left, a handler awaits, `deadline` passes or
        `budget` messages are handled; returns the budget left."""
        items = self.actor_inbox.items
        while items and not self.busy and not self.exited and budget > 0:
            self._handle_envelope(items.popleft())
            budget -= 1
            if time.perf_counter() >= deadline:
                break
        if items and not self.busy and not self.exited:
            self.runtime.notify(self)
        return budget

    def _handle_envelope(self, envelope: Envelope[Any]) -> None:
        try:
            result = self._handle_receive(envelope.message)
        except Exception:  # noqa: BLE001 - the caller gets it, or the actor crashes (pykka's rule)
            self._handler_failed(envelope, sys.exc_info())  # type: ignore[arg-type]
            return
        except BaseException:  # noqa: BLE001 - never let SystemExit & co. stop every actor
            self._crash_with(envelope, sys.exc_info())  # type: ignore[arg-type]
            return
        if inspect.isawaitable(result):
            self.busy = True
            self._task = self.runtime.loop.create_task(self._await_handler(envelope, result))
        elif envelope.reply_to is not None:
            envelope.reply_to.set(result)

    async def _await_handler(self, envelope: Envelope[Any], awaitable: Awaitable[Any]) -> None:
        try:
            value = await awaitable
        except asyncio.CancelledError:
            self._crash_with(envelope, sys.exc_info())  # type: ignore[arg-type]
            if _being_cancelled():
                raise
            return
        except Exception:  # noqa: BLE001 - same rule as a synchronous handler
            self._handler_failed(envelope, sys.exc_info())  # type: ignore[arg-type]
        except BaseException:  # noqa: BLE001 - a handler's SystemExit crashes this actor only
            self._crash_with(envelope, sys.exc_info())  # type: ignore[arg-type]
        else:
            if envelope.reply_to is not None:
                envelope.reply_to.set(value)
        finally:
            self._task = None
        if not self.exited:
            self._ready_for_messages()

    def _handler_failed(self, envelope: Envelope[Any], exc_info: ExcInfo) -> None:
        if envelope.reply_to is not None:
            # An ask's caller gets the exception; the actor lives on (pykka's rule).
            self.log.debug("exception returned to caller", error=repr(exc_info[1]))
            envelope.reply_to.set_exception(exc_info)
            return
        self._crash(exc_info[1])

    def _crash_with(self, envelope: Envelope[Any], exc_info: ExcInfo) -> None:
        if envelope.reply_to is not None:
            envelope.reply_to.set_exception(_dead(f"{self.name} crashed: {exc_info[1]!r}"))
        self._crash(exc_info[1])

    def _crash(self, error: BaseException) -> None:
        """Log the failure, run `on_failure`, and end the actor; the supervisor decides more."""
        if self.exited:
            return
        self.log.error("actor crashed", exc_info=error)
        self.actor_stopped.set()
        try:
            self.on_failure(type(error), error, error.__traceback__)
        except Exception:
            self.log.exception("on_failure raised")
        self._exit(CRASHED, error)

    def _stop(self) -> Any:
        """Handle the stop message: run `on_stop` (maybe async), then end."""
        self.actor_stopped.set()
        try:
            result = self.on_stop()
        except Exception:
            self.log.exception("on_stop raised")
            result = None
        if inspect.isawaitable(result):
            return self._await_stop(result)
        self._exit(STOPPED, None)
        return None

    async def _await_stop(self, awaitable: Awaitable[Any]) -> None:
        try:
            await awaitable
        except Exception:
            self.log.exception("on_stop raised")
        finally:
            self._exit(STOPPED, None)

    def _handle_failure(self, *exc_info: Any) -> None:
        # pykka calls this from its own loop, which LoopActor never runs; kept for safety.
        self._crash(exc_info[1])

    def _exit(self, reason: str, error: BaseException | None) -> None:
        if self.exited:
            return
        self.exited = True
        self.actor_stopped.set()
        items = self.actor_inbox.items
        while items:
            envelope = items.popleft()
            if envelope.reply_to is None:
                continue
            if isinstance(envelope.message, _ActorStop):
                envelope.reply_to.set(None)
            else:
                envelope.reply_to.set_exception(
                    _dead(f"{self.name} stopped before handling the message")
                )
        # Without the actor <-> inbox cycle, refcounting frees an ended actor at once, even one
        # that gc.freeze() put out of the cyclic collector's reach (see the supervisor).
        self.actor_inbox.bind(None)
        self.runtime.exited(self, reason, error)


def _dead(message: str) -> ExcInfo:
    error = ActorDeadError(message)
    return (ActorDeadError, error, None)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def ask(ref: ActorRef[Any], message: Any, *, timeout: float) -> Any:
    """Ask an actor and await the answer without blocking the loop.

    Raises the actor's exception, `ActorDeadError` if it is gone, or `AskTimeout`.
    """
    return await answer(ref.ask(message, block=False), timeout=timeout)


def request_stop(ref: ActorRef[Any]) -> pykka.Future[Any]:
    """Ask an actor to stop without waiting: the future resolves once it has stopped, or
    raises `ActorDeadError` if it was already gone."""
    future: pykka.Future[Any] = ref.ask(_ActorStop(), block=False)
    return future


async def stop(ref: ActorRef[Any], *, timeout: float) -> bool:
    """Ask an actor to stop and await it; False if it was already gone."""
    future = request_stop(ref)
    try:
        async with asyncio.timeout(timeout):
            await future
    except ActorDeadError:
        return False
    except TimeoutError:
        raise AskTimeout(f"{ref.actor_class.__name__} did not stop in {timeout} s") from None
    return True
