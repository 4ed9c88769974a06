"""ApplianceActor's liveness: a ping every 30 s, any frame from the appliance (pongs counted by
its socket) keeps it alive, 90 s of silence closes the link with 4008 and marks it offline.
Driven by hand: a fake clock, a scheduler the test fires, a link that records."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pykka.messages import ProxyCall

from actors.appliance import ApplianceActor
from actors.runtime import LoopRuntime, ask, stop
from mykerio.appliances.view import ApplianceView
from mykerio.clock import FakeClock
from mykerio.protocol.envelope import Envelope
from mykerio.protocol.errors import CloseCode
from mykerio.protocol.status import Knobs
from mykerio.store import Store
from tests.store.factories import make_appliance


@dataclass
class RecordingLink:
    """The socket as the actor sees it: what was sent and how it was closed."""

    clock: FakeClock
    sent: list[Envelope] = field(default_factory=list)
    closed: list[tuple[int, str]] = field(default_factory=list)
    heard_at: float = 0.0
    ip: str = "192.0.2.10"

    def send(self, envelope: Envelope) -> bool:
        self.sent.append(envelope)
        return True

    def ping_appliance(self) -> bool:
        return self.send(Envelope.new("ping", {}))

    def close(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))

    def hang_up(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))

    def hear(self) -> None:
        """A frame (a pong) arrives now."""
        self.heard_at = self.clock.monotonic()


async def test_pings_every_30s_and_drops_an_appliance_silent_for_exactly_90s(
    store: Store,
) -> None:
    """Pongs (noted by the socket) keep it linked; 90 s after the last frame, not at the next
    ping tick, the link sends `error` `silent` and closes with 4008, and no more pings go out."""
    clock = FakeClock()
    appliance = await store.appliances.add(make_appliance())
    link = RecordingLink(clock)
    reports: list[ApplianceView] = []
    actor = ApplianceActor.start(
        runtime=LoopRuntime(asyncio.get_running_loop()),
        appliance=appliance,
        link=link,
        store=store,
        clock=clock,
        report=reports.append,
        removed_by_appliance=lambda org, appliance_id: None,
        schedule=clock.call_later,
    )
    view: ApplianceView = await ask(
        actor, ProxyCall(attr_path=("view",), args=(), kwargs={}), timeout=5
    )
    assert (view.status, view.connected) == ("red", False)  # no colour before its status
    status = Envelope.new("status", {"knobs": Knobs().to_json()})
    await ask(actor, ProxyCall(attr_path=("received",), args=(status,), kwargs={}), timeout=5)
    view = await ask(actor, ProxyCall(attr_path=("view",), args=(), kwargs={}), timeout=5)
    assert (view.status, view.connected) == ("green", True)
    for _ in range(5):  # 150 s of pongs: never silent
        clock.advance(30)
        assert link.sent[-1].type == "ping"
        link.hear()
    clock.advance(10)
    link.hear()  # a last frame between two ping ticks, at 160 s
    assert link.closed == []
    pings = len(link.sent)
    clock.advance(89.5)
    assert link.closed == []
    assert [m.type for m in link.sent[pings:]] == ["ping", "ping", "ping"]  # 180, 210, 240 s
    clock.advance(0.5)  # 250 s: 90 s after the last frame, not at a ping tick: dropped
    assert [m.type for m in link.sent[pings + 3 :]] == ["error"]
    assert link.sent[-1].body["code"] == "silent"
    assert link.closed == [(CloseCode.TOO_SLOW, "silent")]
    clock.advance(300)
    assert len(link.sent) == pings + 4  # no pings after the drop
    await stop(actor, timeout=5)


async def test_a_burst_of_statuses_within_the_coalescing_window_records_only_the_latest(
    store: Store,
) -> None:
    """With a 5 s window the first status is recorded at once; the 40 that follow within 5 s
    are held and only the latest is recorded (and reported) when the window ends."""
    clock = FakeClock()
    appliance = await store.appliances.add(make_appliance())
    reports: list[ApplianceView] = []
    actor = ApplianceActor.start(
        runtime=LoopRuntime(asyncio.get_running_loop()),
        appliance=appliance,
        link=RecordingLink(clock),
        store=store,
        clock=clock,
        report=reports.append,
        removed_by_appliance=lambda org, appliance_id: None,
        schedule=clock.call_later,
        coalesce=5.0,
    )

    async def status(**knobs: bool) -> None:
        message = Envelope.new("status", {"knobs": Knobs(**knobs).to_json()})
        await ask(actor, ProxyCall(attr_path=("received",), args=(message,), kwargs={}), timeout=5)

    await status()
    for n in range(40):
        clock.advance(0.1)
        await status(low_memory=n % 2 == 0, licence_expired=n % 3 == 0)
    await status(maintenance_expired=True)
    assert [r.status for r in reports] == ["green"]
    clock.advance(1.5)  # past 5 s after the first: the window ends
    await ask(actor, ProxyCall(attr_path=("view",), args=(), kwargs={}), timeout=5)
    assert [(r.status, r.reasons) for r in reports] == [
        ("green", ()),
        ("red", ("Software maintenance expired",)),
    ]
    history = await store.status_history.for_appliance(appliance.id, limit=10)
    assert [change.status for change in history] == ["red", "green"]  # newest first
    await stop(actor, timeout=5)
