"""FakeClock's timers: `call_later` callbacks run while `advance` moves time past them."""

from __future__ import annotations

from mykerio.clock import FakeClock


def test_timers_fire_in_order_each_at_its_own_time() -> None:
    """Due timers run in the order they are due, each seeing the clock at its due time; a
    cancelled one never runs, and one scheduled by a callback runs if it falls due too."""
    clock = FakeClock()
    start = clock.monotonic()
    seen: list[tuple[str, float]] = []

    def note(name: str) -> None:
        seen.append((name, clock.monotonic() - start))

    def first() -> None:
        note("a")
        clock.call_later(5, lambda: note("a+5"))

    clock.call_later(20, lambda: note("b"))
    clock.call_later(10, first)
    clock.call_later(12, lambda: note("cancelled")).cancel()
    clock.call_later(40, lambda: note("later"))
    clock.advance(30)
    assert seen == [("a", 10.0), ("a+5", 15.0), ("b", 20.0)]
    assert clock.monotonic() - start == 30.0
    clock.advance(10)
    assert seen[-1] == ("later", 40.0)
