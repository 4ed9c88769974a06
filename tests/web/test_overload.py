"""A reconnect storm the hub cannot admit in time, at a size CI affords (issue 17, item 6).

The hub is overloaded on purpose: a tight handshake deadline and a small admission budget, and
many more linked appliances (real simulator processes) knocking at the same instant than it can
take in within that deadline. A hub that starts every handshake it is offered spends its CPU on
handshakes that miss the deadline, and the appliances fall back to ever longer backoffs; one that
admits only what it can finish, and tells the rest when to come back, keeps completing
handshakes at its pace. The test measures the hub's CPU per reconnect on a calm batch first and
bounds the storm's time to all-linked by that cost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mykerio.agent.identity import IdentityStore
from tests.api_client import ApiSession
from tests.conftest import hub_config_for, running_hub
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.store.factories import make_appliance
from tests.web.org_helpers import member
from web.hub import Hub

log = logging.getLogger(__name__)

CALM = 12  # appliances that reconnect one batch at a time, to measure the cost of one
STORM = 300  # appliances knocking at once, in ...
PROCESSES = 2  # ... this many simulator processes
DEADLINE = 0.25  # the test's handshake deadline (seconds; the protocol's is 10)
PER_CORE = 8  # handshakes in progress per core (the default is 64)
# All back within: the storm's hub CPU at the calm cost, this many times over (the simulators
# share the machine's 2 cores with the hub, and refused attempts cost a TLS handshake each) ...
CPU_FACTOR = 10.0
# ... plus this many seconds (process start, the retry-after floor, loopback and scheduling).
SLACK = 10.0


class Simulators:
    """Simulator processes of linked appliances; `linked_at` holds when each said "Ready"."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []
        self.readers: list[asyncio.Task[None]] = []
        self.linked_at: dict[tuple[int, int], float] = {}
        self.too_slow = 0  # handshakes the hub gave up on at its deadline (work wasted)
        self.changed = asyncio.Event()

    async def start(self, hub: Hub, state: Path, count: int) -> None:
        """One process of `count` appliances whose states are in `state`/0..count-1."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mykerio.agent",
            "--count",
            str(count),
            "--hub",
            hub.url,
            "--state",
            str(state),
            "--cafile",
            str(hub.config.data_dir / "tls" / "cert.pem"),
            "--handshakes",
            "0",  # every appliance knocks when it likes, as separate machines do
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        number = len(self.processes)
        self.processes.append(process)
        assert process.stdout is not None
        self.readers.append(asyncio.create_task(self._read(number, process.stdout)))

    async def _read(self, number: int, stdout: asyncio.StreamReader) -> None:
        while line := (await stdout.readline()).decode():
            self.too_slow += "found this connection too slow. Next" in line
            found = re.search(r"^\[(\d+)\] MyKerio: Ready\.", line)
            if found:
                self.linked_at.setdefault((number, int(found.group(1))), time.monotonic())
                self.changed.set()

    async def until_linked(self, count: int, timeout: float) -> None:
        """Wait until `count` appliances have been welcomed."""
        async with asyncio.timeout(timeout):
            while len(self.linked_at) < count:
                self.changed.clear()
                await self.changed.wait()

    async def stop(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.terminate()
        async with asyncio.timeout(20):
            for process in self.processes:
                await process.wait()
            await asyncio.gather(*self.readers)


async def linked_appliances(hub: Hub, org_id: str, state: Path, count: int) -> None:
    """`count` simulated appliances' identities in `state`/0.., each already added to the org."""
    assert hub.store is not None
    for index in range(count):
        identity = IdentityStore(state / str(index))
        appliance = make_appliance(identity.public_key, org_id=org_id, name=f"{state.name}-{index}")
        await hub.store.appliances.add(appliance)


def per_second(times: list[float], start: float) -> list[int]:
    """How many of `times` fall in each whole second after `start`."""
    buckets = [0] * (int(max(times) - start) + 1)
    for at in times:
        buckets[int(at - start)] += 1
    return buckets


async def test_an_overloaded_hub_admits_what_it_can_finish_and_every_appliance_comes_back(
    tmp_path: Path,
    smtp_server: LoopbackSmtp,
    sms_gateway: LoopbackSmsGateway,
    clock: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Goodput holds through the storm and all STORM appliances are linked within the bound."""
    monkeypatch.setattr("actors.connection.HANDSHAKE_TIMEOUT", DEADLINE)
    config = hub_config_for(
        tmp_path, smtp_server, sms_gateway, **{"appliances.handshakes_per_core": PER_CORE}
    )
    # The simulators' state on tmpfs where there is one: they fsync every state write, which on
    # a disk stalls their loops (and so their handshakes) at each welcome.
    shm = Path("/dev/shm")  # noqa: S108 - a private directory is made in it
    states = Path(tempfile.mkdtemp(dir=shm if shm.is_dir() else tmp_path))  # noqa: ASYNC240
    async with running_hub(config, clock) as hub:  # type: ignore[arg-type]
        api = ApiSession(hub.url, str(hub.config.data_dir / "tls" / "cert.pem"), "pytest")
        org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        await linked_appliances(hub, org_id, states / "calm", CALM)
        share = STORM // PROCESSES
        for process in range(PROCESSES):
            await linked_appliances(hub, org_id, states / f"storm{process}", share)
        simulators = Simulators()
        try:
            # The cost of one reconnect, measured calmly: a few appliances, no overload.
            cpu = time.process_time()
            await simulators.start(hub, states / "calm", CALM)
            await simulators.until_linked(CALM, timeout=30)
            cost = (time.process_time() - cpu) / CALM
            bound = SLACK + CPU_FACTOR * STORM * cost

            started = time.monotonic()
            for process in range(PROCESSES):
                await simulators.start(hub, states / f"storm{process}", share)
            measured = f"cost {cost * 1e3:.1f} ms per reconnect, bound {bound:.1f} s"
            try:
                await simulators.until_linked(CALM + STORM, timeout=bound)
            except TimeoutError:
                back = len(simulators.linked_at) - CALM
                pytest.fail(f"{back} of {STORM} back within the bound ({measured})")
            storm = sorted(at for key, at in simulators.linked_at.items() if key[0] > 0)
            buckets = per_second(storm, started)
            log.warning("%s; all back in %.1f s", measured, storm[-1] - started)
            log.warning("handshakes completed per second: %s", buckets)
            # Goodput holds: from the first completed handshake until 90 % are back, the mean
            # rate is at least a third of the peak second's (in a collapse, time goes by with
            # almost none completed while appliances still knock; single seconds are too
            # noisy on a shared machine to judge alone).
            most = int(0.9 * STORM)
            mean = most / max(1.0, storm[most - 1] - storm[0])
            assert mean >= max(buckets) / 3, (mean, buckets)
            # Little work is wasted: few handshakes are started only to miss their deadline.
            assert simulators.too_slow <= STORM / 10, simulators.too_slow

            listed = (await api.get(f"/api/v1/organizations/{org_id}/appliances")).json
            rows = listed["appliances"]
            assert len(rows) == CALM + STORM
            assert all(row["connected"] for row in rows)
        finally:
            await simulators.stop()
            shutil.rmtree(states)


async def test_the_hub_stops_within_its_deadline_while_appliances_keep_knocking(
    tmp_path: Path,
    smtp_server: LoopbackSmtp,
    sms_gateway: LoopbackSmsGateway,
    clock: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SIGTERM's path (`Hub.stop`) mid-storm: it stops accepting first, answers the upgrades
    waiting in line at once, closes the rest, and logs no crash on the way."""
    config = hub_config_for(
        tmp_path, smtp_server, sms_gateway, **{"appliances.handshakes_per_core": PER_CORE}
    )
    shm = Path("/dev/shm")  # noqa: S108 - a private directory is made in it
    states = Path(tempfile.mkdtemp(dir=shm if shm.is_dir() else tmp_path))  # noqa: ASYNC240
    hub = Hub(config, clock=clock)  # type: ignore[arg-type]
    await hub.start()
    simulators = Simulators()
    stopped = False
    try:
        api = ApiSession(hub.url, str(hub.config.data_dir / "tls" / "cert.pem"), "pytest")
        org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        share = STORM // PROCESSES
        for process in range(PROCESSES):
            await linked_appliances(hub, org_id, states / f"storm{process}", share)
        for process in range(PROCESSES):
            await simulators.start(hub, states / f"storm{process}", share)
        await simulators.until_linked(STORM // 3, timeout=60)  # mid-storm: many still knock
        began = time.monotonic()
        with caplog.at_level(logging.ERROR):
            await hub.stop(deadline=10)
        stopped = True
        took = time.monotonic() - began
        assert took < 10, took
        crashes = [
            r for r in caplog.records if r.levelno >= logging.ERROR and r.name != "tornado.access"
        ]
        assert not crashes, [r.getMessage() for r in crashes]
    finally:
        if not stopped:
            await hub.stop(deadline=10)
        await simulators.stop()
        shutil.rmtree(states)
