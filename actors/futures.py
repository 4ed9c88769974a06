"""Futures of loop-hosted actors: awaitable on the event loop, blockable from other threads.

pykka's stock `Future.__await__` calls a blocking `get()`; `LoopFuture` instead parks the
awaiting task on an asyncio future, and a `get()` on the loop's own thread raises rather than
freezing the hub. `answer` awaits any actor future within a timeout.
"""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
from collections.abc import Generator
from typing import Any, TypeVar, cast

import pykka

from mykerio.errors import Unavailable

T = TypeVar("T")
ExcInfo = tuple[type[BaseException], BaseException, Any]


class AskTimeout(Unavailable):
    """An actor did not answer an ask within its timeout."""

    code = "actor_timeout"


def _on_a_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class LoopFuture(pykka.Future[T]):
    """A pykka future that the event loop can `await` and other threads can `get()`."""

    def __init__(self) -> None:
        super().__init__()
        self._done = False
        self._value: Any = None
        self._exc_info: ExcInfo | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._waiter_thread = 0
        self._event: threading.Event | None = None

    def get(self, *, timeout: float | None = None) -> T:
        """Block until the value is there (never on the loop thread: await instead)."""
        if self._get_hook is not None:
            return super().get(timeout=timeout)
        if not self._done:
            if _on_a_running_loop():
                msg = "LoopFuture.get() would block the event loop; await the future instead"
                raise RuntimeError(msg)
            # The setter checks `_event` after setting `_done`; we set `_event` before checking
            # `_done`, so one of the two always sees the other's write.
            event = threading.Event()
            self._event = event
            if not self._done and not event.wait(timeout):
                msg = f"{timeout} seconds"
                raise pykka.Timeout(msg)
        return self._outcome()

    def _outcome(self) -> T:
        if self._exc_info is not None:
            raise self._exc_info[1].with_traceback(self._exc_info[2])
        value: T = self._value
        return value

    def set(self, value: T | None = None) -> None:
        """Resolve the future with `value`; a second resolution raises `queue.Full`."""
        if self._done or self._get_hook is not None:
            raise queue.Full
        self._value = value
        self._resolve()

    def set_exception(self, exc_info: Any = None) -> None:
        """Resolve the future with an exception (`sys.exc_info()` when not given)."""
        if self._done or self._get_hook is not None:
            raise queue.Full
        info = cast(ExcInfo, exc_info if exc_info is not None else sys.exc_info())
        if info[1] is None:
            msg = "set_exception() needs an exception"
            raise ValueError(msg)
        self._exc_info = info
        self._resolve()

    def _resolve(self) -> None:
        self._done = True
        event = self._event
        if event is not None:
            event.set()
        waiter = self._waiter
        if waiter is not None:
            if threading.get_ident() == self._waiter_thread:
                _wake(waiter)
            else:
                waiter.get_loop().call_soon_threadsafe(_wake, waiter)

    def __await__(self) -> Generator[Any, None, T]:
        if self._get_hook is not None:
            # Derived futures (map, join, stop's converter) only know how to block; let a
            # worker thread do the blocking so the loop never does.
            loop = asyncio.get_running_loop()
            result: T = yield from loop.run_in_executor(None, self.get).__await__()
            return result
        if not self._done:
            waiter = self._waiter
            if waiter is None or waiter.cancelled():
                waiter = asyncio.get_running_loop().create_future()
                self._waiter = waiter
                self._waiter_thread = threading.get_ident()
            yield from waiter.__await__()
        return self._outcome()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def answer(future: pykka.Future[T], *, timeout: float) -> T:
    """Await a future an actor will resolve (an ask's, or a proxy call's), within `timeout`."""
    try:
        async with asyncio.timeout(timeout):
            return await future
    except TimeoutError:
        raise AskTimeout(f"no answer from the actor within {timeout} s") from None
