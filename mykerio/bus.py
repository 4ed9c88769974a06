"""The event bus: typed events published by topic, delivered to typed subscribers.

An event is a frozen dataclass of plain values (ids, names, views; never a socket, an actor
reference or a callback), so that a broker between hub nodes (Redis, NATS) can carry it as it
is. Its topic is its class: `bus.subscribe(ApplianceChanged, handler)` gets every
`ApplianceChanged`, typed as such; `bus.publish(event)` hands it to each subscriber of its
class in subscription order.

Subscribers must not assume they saw every event before they subscribed, or while a broker was
away: on (re)subscribing they read the current state from the store, then apply events. A
handler runs on the publisher's loop and must be quick (push to sockets, tell an actor); one
that raises is logged and the others still get the event.

`LocalBus` is the in-process implementation; `EventBus` is what callers depend on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import structlog

E = TypeVar("E")
log = structlog.get_logger("bus")


class Subscription(Protocol):
    """A subscription; `cancel` ends it (idempotent)."""

    def cancel(self) -> None:
        """Stop delivering to this subscriber."""


class EventBus(Protocol):
    """Publish typed events; subscribe to them by class."""

    def publish(self, event: object) -> None:
        """Deliver `event` to every subscriber of its class."""

    def subscribe(self, topic: type[E], handler: Callable[[E], None]) -> Subscription:
        """Call `handler` with every published event of class `topic`."""


@dataclass(eq=False, slots=True)
class _LocalSubscription:
    bus: LocalBus
    topic: type[Any]
    handler: Callable[[Any], None]
    active: bool = field(default=True)

    def cancel(self) -> None:
        if self.active:
            self.active = False
            self.bus._remove(self)


class LocalBus:
    """The bus inside one hub process."""

    def __init__(self) -> None:
        self._subscribers: dict[type[Any], list[_LocalSubscription]] = {}

    def publish(self, event: object) -> None:
        """Deliver `event` now to each subscriber of its class, in subscription order."""
        for subscription in tuple(self._subscribers.get(type(event), ())):
            if not subscription.active:
                continue  # cancelled by an earlier handler of this same event
            try:
                subscription.handler(event)
            except Exception:
                # One broken subscriber must not keep an event from the others.
                log.exception("event handler failed", topic=type(event).__name__)

    def subscribe(self, topic: type[E], handler: Callable[[E], None]) -> Subscription:
        """Call `handler` with every later event of class `topic`."""
        subscription = _LocalSubscription(self, topic, handler)
        self._subscribers.setdefault(topic, []).append(subscription)
        return subscription

    def subscribers(self, topic: type[Any]) -> int:
        """How many subscribers `topic` has (for metrics and tests)."""
        return len(self._subscribers.get(topic, ()))

    def _remove(self, subscription: _LocalSubscription) -> None:
        subscribers = self._subscribers.get(subscription.topic, [])
        subscribers.remove(subscription)
        if not subscribers:
            self._subscribers.pop(subscription.topic, None)
