"""Fixtures of the appliance tests: the fake hub, simulated appliances, a sleep that never sleeps.

`fake_hub` is a real websocket server over TLS on loopback (`fake_hub.py`). `appliance` starts
simulated appliances against it, each with its admin UI on a loopback port, a `FakeSleep`
instead of `asyncio.sleep`, fixed randomness and a fake clock; every one is stopped at teardown.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from mykerio.agent.admin_ui import AdminUi, start_admin_ui
from mykerio.agent.endpoint import HubEndpoint, Timings
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink, LinkView
from mykerio.agent.profile import Profile
from mykerio.clock import FakeClock
from tests.agent.fake_hub import WAIT, FakeHub


class FakeSleep:
    """Stands in for `asyncio.sleep`: records each delay asked for; returns only when released."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._calls: asyncio.Queue[tuple[float, asyncio.Future[None]]] = asyncio.Queue()
        self._released = False
        self._held: list[asyncio.Future[None]] = []  # taken by `next_delay(release=False)`

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self._released:
            return
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._calls.put_nowait((delay, gate))
        await gate

    async def next_delay(self, *, release: bool = True) -> float:
        """The next delay the link waits for; with `release` the wait ends at once."""
        async with asyncio.timeout(WAIT):
            delay, gate = await self._calls.get()
        if release and not gate.done():
            gate.set_result(None)
        elif not release:
            self._held.append(gate)
        return delay

    def release_all(self) -> None:
        """End every wait asked for so far, and let later ones end at once."""
        self._released = True
        while not self._calls.empty():
            self._held.append(self._calls.get_nowait()[1])
        for gate in self._held:
            if not gate.done():
                gate.set_result(None)
        self._held.clear()

    def pending(self) -> int:
        """How many waits were asked for and not yet taken by `next_delay`."""
        return self._calls.qsize()


@dataclass
class Appliance:
    """A simulated appliance under test: its store, link, admin UI, sleep, clock and task."""

    store: IdentityStore
    link: ApplianceLink
    ui: AdminUi
    sleep: FakeSleep
    clock: FakeClock
    task: asyncio.Task[None]
    http: AsyncHTTPClient = field(default_factory=AsyncHTTPClient)

    async def wait_for(self, predicate: Callable[[LinkView], bool]) -> LinkView:
        """The first view of the link for which `predicate` holds (within `WAIT` seconds)."""
        return await self.link.wait_for(predicate, WAIT)

    async def wait_phase(self, phase: str) -> LinkView:
        """The view once the link reaches `phase`."""
        return await self.wait_for(lambda view: view.phase == phase)

    async def get(self, path: str) -> HTTPResponse:
        """GET `path` from the admin UI (never raises on an error status)."""
        return await self.http.fetch(self.ui.url.rstrip("/") + path, raise_error=False)

    async def post(self, path: str, body: object, **headers: str) -> HTTPResponse:
        """POST `body` as JSON to the admin UI (never raises on an error status)."""
        return await self.http.fetch(
            self.ui.url.rstrip("/") + path,
            method="POST",
            body=json.dumps(body),
            headers={"Content-Type": "application/json", **headers},
            raise_error=False,
        )

    async def api_state(self) -> dict[str, Any]:
        """`GET /api/state`, parsed."""
        response = await self.get("/api/state")
        assert response.code == 200
        state: dict[str, Any] = json.loads(response.body)
        return state


Start = Callable[..., Appliance]


@pytest.fixture
async def fake_hub(tmp_path: Path) -> AsyncIterator[FakeHub]:
    """A running fake hub on loopback (TLS with its own self-signed certificate)."""
    hub = FakeHub(tmp_path / "hub-tls")
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


@pytest.fixture
async def appliance(fake_hub: FakeHub, tmp_path: Path) -> AsyncIterator[Start]:
    """Start simulated appliances on the fake hub: `appliance(state_dir=..., profile=...)`."""
    started: list[Appliance] = []

    def start(
        state_dir: Path | None = None,
        profile: Profile | None = None,
        uniform: Callable[[], float] = lambda: 0.5,
        timings: Timings | None = None,
        hub_url: str | None = None,
    ) -> Appliance:
        store = IdentityStore(state_dir or tmp_path / "appliance")
        sleep = FakeSleep()
        clock = FakeClock(datetime.now(UTC))
        link = ApplianceLink(
            store,
            profile or Profile("control", "9.4.0", host_name="gw-brno"),
            HubEndpoint.of(hub_url or fake_hub.url, cafile=fake_hub.cafile),
            sleep=sleep,
            uniform=uniform,
            clock=clock,
            timings=timings,
        )
        ui = start_admin_ui(link)
        task = asyncio.create_task(link.run())
        started.append(Appliance(store, link, ui, sleep, clock, task))
        return started[-1]

    try:
        yield start
    finally:
        for running in started:
            running.link.stop()
        for running in started:
            async with asyncio.timeout(WAIT):
                await running.task
            await running.ui.close()
