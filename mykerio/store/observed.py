"""Timing of repository operations, reported to the store's `OperationObserver`.

A repository class names its `domain` (`"users"`) and holds the observer; decorating an
`async` method with `@observed` reports `"<domain>.<method name>"` and its duration after every
call, failed calls included.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from mykerio.store.base import OperationObserver


class Observable(Protocol):
    """What `@observed` needs from the repository it decorates."""

    @property
    def domain(self) -> str:
        """The first part of every operation name, such as `"users"`."""
        ...

    @property
    def on_operation(self) -> OperationObserver | None:
        """Where durations go; `None` turns timing off."""
        ...


RepositoryT = TypeVar("RepositoryT", bound=Observable)
P = ParamSpec("P")
R = TypeVar("R")


def observed(
    method: Callable[Concatenate[RepositoryT, P], Awaitable[R]],
) -> Callable[Concatenate[RepositoryT, P], Coroutine[Any, Any, R]]:
    """Wrap a repository method so each call reports its name and duration in seconds."""
    operation = method.__name__

    @functools.wraps(method)
    async def timed(repository: RepositoryT, /, *args: P.args, **kwargs: P.kwargs) -> R:
        observer = repository.on_operation
        if observer is None:
            return await method(repository, *args, **kwargs)
        started = time.perf_counter()
        try:
            return await method(repository, *args, **kwargs)
        finally:
            observer(f"{repository.domain}.{operation}", time.perf_counter() - started)

    return timed
