"""The in-process event bus: delivery by class, order, cancelling, and broken handlers."""

from __future__ import annotations

from dataclasses import dataclass

import structlog.testing

from mykerio.bus import EventBus, LocalBus


@dataclass(frozen=True)
class Renamed:
    org_id: str
    name: str


@dataclass(frozen=True)
class Deleted:
    org_id: str


def test_subscribers_get_the_events_of_their_class_in_order() -> None:
    bus: EventBus = LocalBus()
    seen: list[tuple[str, object]] = []
    bus.subscribe(Renamed, lambda event: seen.append(("first", event.name)))
    bus.subscribe(Deleted, lambda event: seen.append(("deleted", event.org_id)))
    bus.subscribe(Renamed, lambda event: seen.append(("second", event.name)))
    bus.publish(Renamed("o1", "Acme"))
    bus.publish(Deleted("o1"))
    assert seen == [("first", "Acme"), ("second", "Acme"), ("deleted", "o1")]


def test_a_cancelled_subscription_gets_nothing_more() -> None:
    bus = LocalBus()
    seen: list[str] = []
    subscription = bus.subscribe(Renamed, lambda event: seen.append(event.name))
    bus.publish(Renamed("o1", "A"))
    subscription.cancel()
    subscription.cancel()
    bus.publish(Renamed("o1", "B"))
    assert seen == ["A"]
    assert bus.subscribers(Renamed) == 0


def test_a_handler_may_cancel_another_for_the_same_event() -> None:
    bus = LocalBus()
    seen: list[str] = []
    later = None

    def first(event: Renamed) -> None:
        seen.append("first")
        assert later is not None
        later.cancel()

    bus.subscribe(Renamed, first)
    later = bus.subscribe(Renamed, lambda event: seen.append("later"))
    bus.publish(Renamed("o1", "A"))
    assert seen == ["first"]


def test_a_failing_handler_is_logged_and_the_others_still_get_the_event() -> None:
    bus = LocalBus()
    seen: list[str] = []

    def broken(event: Renamed) -> None:
        raise RuntimeError("bug in a subscriber")

    bus.subscribe(Renamed, broken)
    bus.subscribe(Renamed, lambda event: seen.append(event.name))
    with structlog.testing.capture_logs() as logs:
        bus.publish(Renamed("o1", "A"))
    assert seen == ["A"]
    assert [(entry["event"], entry["topic"]) for entry in logs] == [
        ("event handler failed", "Renamed")
    ]
