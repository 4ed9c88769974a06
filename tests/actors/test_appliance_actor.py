"""ApplianceActor's liveness: a ping every 30 s, any frame from the appliance (pongs counted by
its socket) keeps it alive, 90 s of silence closes the link with 4008 and marks it offline.
Driven by hand: a fake clock, a scheduler the test fires, a link that records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from pykka.messages import ProxyCall

from actors.appliance import ApplianceActor
from actors.runtime import LoopRuntime, ask, stop
from mykerio.appliances.view import ApplianceView
from mykerio.clock import FakeClock
from mykerio.protocol.envelope import Envelope
from mykerio.protocol.errors import CloseCode
from mykerio.store import Store
from tests.store.factories import make_appliance


@dataclass
class RecordingLink:
    """The socket as the actor sees it: what was sent and how it was closed."""

    sent: list[Envelope] = field(default_factory=list)
    closed: list[tuple[int, str]] = field(default_factory=list)
    frames: int = 0
    ip: str = "192.0.2.10"

    def send(self, envelope: Envelope) -> bool:
        self.sent.append(envelope)
        return True

    def close(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))

    def hang_up(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))


@dataclass
class Timers:
    """A scheduler whose timers fire when the test says."""

    due: list[tuple[float, Callable[[], None]]] = field(default_factory=list)

    def __call__(self, delay: float, callback: Callable[[], None]) -> Timers.Handle:
        self.due.append((delay, callback))
        return Timers.Handle()

    def fire(self) -> float:
        """Run the oldest timer; its delay."""
        delay, callback = self.due.pop(0)
        callback()
        return delay

    class Handle:
        def cancel(self) -> None:
            pass


async def test_pings_every_30s_and_drops_an_appliance_silent_for_90s(store: Store) -> None:
    """Pongs (counted by the socket) keep it linked; after 90 s without any frame the link
    closes with 4008 and no more pings go out."""
    clock = FakeClock()
    appliance = await store.appliances.add(make_appliance())
    link, timers = RecordingLink(), Timers()
    reports: list[ApplianceView] = []
    actor = ApplianceActor.start(
        runtime=LoopRuntime(asyncio.get_running_loop()),
        appliance=appliance,
        link=link,
        store=store,
        clock=clock,
        report=reports.append,
        removed_by_appliance=lambda org, appliance_id: None,
        schedule=timers,
    )
    view: ApplianceView = await ask(
        actor, ProxyCall(attr_path=("view",), args=(), kwargs={}), timeout=5
    )
    assert (view.status, view.connected) == ("green", True)
    for _ in range(5):  # 150 s of pongs: never silent
        clock.advance(30)
        link.frames += 1
        assert timers.fire() == 30.0
        assert link.sent[-1].type == "ping"
    assert link.closed == []
    pings = len(link.sent)
    clock.advance(30)
    timers.fire()  # 30 s silent
    clock.advance(30)
    timers.fire()  # 60 s silent
    assert link.closed == []
    clock.advance(30)
    timers.fire()  # 90 s silent: dropped
    assert link.closed == [(CloseCode.TOO_SLOW, "silent")]
    assert len(link.sent) == pings + 2
    assert timers.due == []
    await stop(actor, timeout=5)
