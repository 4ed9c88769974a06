"""Typed actor clients: call an actor's method by the method itself, never by its name.

`ActorClient[A]` wraps a reference to an actor of class `A`. `await client.call(A.method, x, y)`
sends the call to the actor and waits for its answer within the client's timeout; mypy checks
the arguments against `A.method`'s signature and types the answer as what the method returns
(an `async def` method's awaited result). `client.tell(A.method, ...)` sends without waiting.
Nothing outside `actors/` builds a pykka message or spells a method as a string: a renamed
method is a type error at every caller, not a runtime `AttributeError` in an actor.

A dead actor (stopped, or restarting after a crash) answers `Unavailable`, as a timed-out one
answers `AskTimeout` (a 503 to an HTTP caller). Callers never see a pykka type.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from pykka import ActorDeadError, ActorRef
from pykka.messages import ProxyCall

from actors.futures import answer
from mykerio.errors import Unavailable

A = TypeVar("A")
P = ParamSpec("P")
R = TypeVar("R")


class ActorGone(Unavailable):
    """The actor that owns this is not running (stopped, or restarting after a crash)."""

    code = "unavailable"


class ActorClient(Generic[A]):
    """Calls to one actor of class `A`, each answered within `timeout` seconds."""

    __slots__ = ("_ref", "timeout")

    def __init__(self, ref: ActorRef[Any], timeout: float) -> None:
        self._ref = ref
        self.timeout = timeout

    @overload
    async def call(
        self,
        method: Callable[Concatenate[A, P], Coroutine[Any, Any, R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @overload
    async def call(
        self, method: Callable[Concatenate[A, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R: ...

    async def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `method` in the actor with these arguments; its answer (awaited if async)."""
        try:
            future = self._ref.ask(self._message(method, args, kwargs), block=False)
            return await answer(future, timeout=self.timeout)
        except ActorDeadError:
            raise ActorGone("the actor that owns this is restarting; try again") from None

    def tell(
        self, method: Callable[Concatenate[A, P], object], *args: P.args, **kwargs: P.kwargs
    ) -> None:
        """Run `method` in the actor without waiting; a stopped actor drops it."""
        message = self._message(method, args, kwargs)
        # A tell is fire-and-forget: an actor that is gone has nothing to do.
        with contextlib.suppress(ActorDeadError):
            self._ref.tell(message)

    @property
    def alive(self) -> bool:
        """Whether the actor is still running."""
        return self._ref.is_alive()

    def same_actor(self, other: ActorClient[Any]) -> bool:
        """Whether both clients reach the same actor."""
        return self._ref is other._ref

    def __repr__(self) -> str:
        return f"ActorClient({self._ref})"

    def _message(
        self, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> ProxyCall:
        name = getattr(method, "__name__", "")
        # mypy checks the class; this catches what it cannot see (a Callable[..., Any] caller):
        # a method of another class, a private one, a lambda.
        if name.startswith("_") or getattr(self._ref.actor_class, name, None) is not method:
            raise TypeError(
                f"{method!r} is not a public method of {self._ref.actor_class.__name__}"
            )
        return ProxyCall(attr_path=(name,), args=args, kwargs=kwargs)
