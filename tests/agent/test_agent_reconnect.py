"""Tests of the reconnect loop in mykerio/agent/link.py: delays, backoff reset, silence."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable

import pytest

from mykerio.agent.endpoint import Timings
from mykerio.agent.link import Backoff
from mykerio.protocol.errors import CloseCode
from mykerio.protocol.link import BACKOFF_CAP, STABLE_AFTER
from tests.agent.conftest import Appliance, Start
from tests.agent.fake_hub import Added, FakeHub

# (low, high) bounds of the waits before attempts 0, 1, 2, 3 (docs/protocol.md section 6).
BOUNDS = [(0.0, 5.0), (0.0, 5.0), (0.0, 10.0), (0.0, 20.0)]
# Each entry makes a fresh `uniform` stand-in (so no test sees another's leftover draws).
DRAWS: dict[str, Callable[[], Callable[[], float]]] = {
    "lowest": lambda: lambda: 0.0,
    "highest": lambda: lambda: 0.999999,
    "mixed": lambda: itertools.cycle([0.13, 0.87, 0.42, 0.66, 0.05]).__next__,
}


async def dropped(fake_hub: FakeHub, device: Appliance) -> float:
    """Close the appliance's socket from the hub; the delay it then waits (released at once)."""
    fake_hub.close(CloseCode.GOING_AWAY, "going_away")
    return await device.sleep.next_delay()


@pytest.mark.parametrize("draw", DRAWS)
def test_backoff_delays_stay_within_bounds(draw: str) -> None:
    """Attempt 0 waits 0-5 s, then 0 to 5 s doubling (full jitter); at_cap waits 300 s."""
    backoff = Backoff(DRAWS[draw]())
    for low, high in BOUNDS:
        assert low <= backoff.next_delay("backoff") <= high
    assert backoff.next_delay("at_cap") == BACKOFF_CAP
    backoff.reset()
    assert backoff.next_delay("backoff") <= 5.0


@pytest.mark.parametrize("draw", DRAWS)
async def test_reconnects_after_drops_wait_growing_delays(
    fake_hub: FakeHub, appliance: Start, draw: str
) -> None:
    """Each drop of a short-lived connection waits the next, longer delay, then reconnects."""
    device = appliance(uniform=DRAWS[draw]())
    fake_hub.add(device.store.public_key, Added("a1", "Office"))
    for low, high in BOUNDS:
        await device.wait_phase("linked")
        assert low <= await dropped(fake_hub, device) <= high
    await device.wait_phase("linked")
    assert len(fake_hub.connections) == len(BOUNDS) + 1


async def test_a_connection_up_for_a_minute_resets_the_backoff(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """After a welcomed connection stayed up 60 s, the next drop waits 0-5 s again."""
    device = appliance(uniform=lambda: 1.0)
    fake_hub.add(device.store.public_key, Added("a1", "Office"))
    await device.wait_phase("linked")
    assert await dropped(fake_hub, device) == 5.0
    await device.wait_phase("linked")
    assert await dropped(fake_hub, device) == 5.0  # attempt 1: 0-5 s
    await device.wait_phase("linked")
    assert await dropped(fake_hub, device) == 10.0  # attempt 2: 0-10 s
    await device.wait_phase("linked")
    device.clock.advance(STABLE_AFTER)
    assert await dropped(fake_hub, device) == 5.0  # attempt 0 again
    assert device.link.backoff.attempt == 1


async def test_a_busy_hub_is_retried_after_its_retry_after(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """A `503` with `Retry-After: 7` is waited out (plus the appliance's own jitter), and it
    does not grow the backoff: the next drop waits attempt 0's 0-5 s again."""
    fake_hub.busy = [7, 12]
    device = appliance(uniform=lambda: 0.25)
    fake_hub.add(device.store.public_key, Added("a1", "Office"))
    view = await device.wait_phase("waiting")
    assert "busy" in view.status_text
    assert await device.sleep.next_delay() == 7.25
    assert await device.sleep.next_delay() == 12.25
    await device.wait_phase("linked")
    assert device.link.backoff.attempt == 0
    assert await dropped(fake_hub, device) == 1.25  # attempt 0: 0-5 s


async def test_an_unreachable_hub_counts_as_attempts(fake_hub: FakeHub, appliance: Start) -> None:
    """Refused TCP connections back off like drops and say so in the status text."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    device = appliance(hub_url=f"https://127.0.0.1:{port}")
    delays = []
    for _ in BOUNDS:
        view = await device.wait_phase("waiting")
        assert "cannot reach the hub" in view.status_text
        delays.append(await device.sleep.next_delay())
    for (low, high), delay in zip(BOUNDS, delays, strict=True):
        assert low <= delay <= high
    assert fake_hub.connections == []


async def test_a_silent_hub_is_dropped_with_4008(fake_hub: FakeHub, appliance: Start) -> None:
    """With no frame from the hub within the silence limit, the appliance closes with 4008."""
    device = appliance(timings=Timings(silence=0.02))
    fake_hub.add(device.store.public_key, Added("a1", "Office"))
    closed = await fake_hub.next_close()
    assert (closed.code, closed.by_hub) == (CloseCode.TOO_SLOW, False)
    view = await device.wait_phase("waiting")
    assert "stopped answering" in view.status_text


async def test_disabling_during_a_wait_stops_retrying(fake_hub: FakeHub, appliance: Start) -> None:
    """Unticking the checkbox while waiting to reconnect ends the wait and stays disconnected."""
    device = appliance()
    fake_hub.add(device.store.public_key, Added("a1", "Office"))
    await device.wait_phase("linked")
    fake_hub.close(CloseCode.GOING_AWAY, "going_away")
    await device.sleep.next_delay(release=False)
    await device.wait_phase("waiting")
    device.link.set_enabled(False)
    await device.wait_phase("disabled")
    device.link.set_enabled(True)
    await device.wait_phase("linked")
    assert len(fake_hub.connections) == 2
    assert device.sleep.pending() == 0
