"""Shared definitions benchmark: one change acknowledged by N connected Kerio Control simulators.

Issue 13, item 9. One process, one loop: a real `web.hub.Hub` (production configuration but a
temporary data directory and port 0; SQLite store; TLS on loopback) and N simulated Kerio
Controls (`mykerio.agent.link.ApplianceLink`, protocol 2, each with its own
`LocalDefinitions`), paired through the API as a member would. Then `ROUNDS` times, one change
(`POST .../definitions/ip_address_groups/groups/{id}/entries`, a new Host) is timed from just
before the API call until the hub has the N-th `definitions_applied` of that version (counted
on the hub's bus, `DefinitionsSyncChanged`), with the time until the last simulator applied it
beside it. Percentiles by nearest rank over the rounds.

By default the simulators run in `--processes P` subprocesses of their own
(`python -m mykerio.agent --count K`, paired by the codes they print) at the lowest priority
(`nice -n 19`), so the hub's loop does only the hub's work and comes first for a core; the CPU
seconds of the hub process and of the simulators during the changes are reported beside the
figures. `PROBES` (20) linked Kerio Connects, which get no definitions, ping the hub every
`PROBE_INTERVAL` with WebSocket ping frames, idle for `IDLE_SECONDS` and then during the
changes: what a change costs the other appliances' ping latency (issue 13, item 9). With
`--processes 0` the simulators run in the hub's own loop (and every figure includes their
work). The time to the last simulator's
apply is measured only in-process. Usage: `python bench/definitions.py [--count N]
[--rounds R] [--processes P]` (default N = 200, R = 20, P = 2); the issue's 1,000 is
`--count 1000` (pairing them takes a while). Results go to bench/results/definitions.json.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.appliances import CODE_LINE, HubApi, read_proc
from bench.common import percentile, progress
from mykerio.agent.definitions import LocalDefinitions
from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.config import load_config
from mykerio.definitions.events import DefinitionsSyncChanged
from mykerio.definitions.model import Kind
from mykerio.logs import configure_logging
from mykerio.models import User, new_id
from mykerio.security.passwords import PRODUCTION_PARAMETERS, PasswordHasher
from web.hub import Hub

EMAIL = "bench@definitions.example"
PASSWORD = "Bench-Definitions-Tulip-7"  # noqa: S105 - a made-up benchmark password
WAIT = 120.0
RESULTS = Path(__file__).resolve().parent / "results" / "definitions.json"
PROBES = 20  # other appliances whose ping round trips are measured
PROBE_INTERVAL = 0.1  # seconds between two pings of each probe
IDLE_SECONDS = 3.0  # the probes' baseline, with nothing pushed


async def add_member(hub: Hub) -> None:
    """A confirmed member, written straight to the store (no mail round trip)."""
    config = hub.config
    parameters = dataclasses.replace(
        PRODUCTION_PARAMETERS,
        time_cost=config.accounts.password_hash_iterations,
        memory_cost=config.accounts.password_hash_memory_kib,
    )
    password_hash = await asyncio.to_thread(PasswordHasher(parameters).hash, PASSWORD)
    now = datetime.now(UTC)
    assert hub.store is not None
    await hub.store.users.add(
        User(
            id=new_id(),
            email=EMAIL,
            full_name="Bench",
            password_hash=password_hash,
            created_at=now,
            confirmed_at=now,
            password_changed_at=now,
        )
    )


async def pair(
    hub: Hub,
    api: HubApi,
    org_id: str,
    workdir: Path,
    count: int,
    product: Literal["control", "connect", "operator"] = "control",
    prefix: str = "gw",
) -> list[tuple[ApplianceLink, asyncio.Task[None]]]:
    """Start `count` simulators (Kerio Control by default) and add each one by its code."""
    endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    links = []
    for index in range(count):
        version = "9.4.0" if product == "control" else "10.0.0"
        profile = Profile(product, version, host_name=f"{prefix}-{index}")
        link = ApplianceLink(
            IdentityStore(workdir / f"{prefix}-{index}"),
            profile,
            endpoint,
            definitions=LocalDefinitions() if product == "control" else None,
        )
        links.append((link, asyncio.create_task(link.run())))
    for index, (link, _task) in enumerate(links):
        view = await link.wait_for(lambda v: v.add_link is not None, WAIT)
        assert view.add_link is not None
        code = parse_qs(urlparse(view.add_link).fragment)["code"][0]
        body = {"code": code, "name": f"{prefix}-{index}"}
        status, answer = await asyncio.to_thread(
            api.request, "POST", f"/api/v1/organizations/{org_id}/appliances", body
        )
        if status != 201:
            raise RuntimeError(f"add appliance: {status} {answer}")
        if index % 50 == 49:
            progress(f"paired {index + 1}/{count}")
    for link, _task in links:
        await link.wait_for(lambda v: v.phase == "linked", WAIT)
    return links


async def pair_processes(
    hub: Hub, api: HubApi, org_id: str, workdir: Path, count: int, processes: int
) -> list[asyncio.subprocess.Process]:
    """Start `count` Kerio Control simulators in `processes` subprocesses; add each by the code
    it prints."""
    cafile = str(hub.config.data_dir / "tls" / "cert.pem")
    started: list[asyncio.subprocess.Process] = []
    codes: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    readers = []
    for number in range(processes):
        share = count // processes + (1 if number < count % processes else 0)
        # At the lowest priority: the hub's loop comes first on a shared machine, so the
        # figures are the hub's, not the simulators' queueing for a core.
        child = await asyncio.create_subprocess_exec(
            "nice", "-n", "19", sys.executable, "-m", "mykerio.agent",
            "--count", str(share), "--hub", hub.url,
            "--state", str(workdir / f"fleet-{number}"), "--cafile", cafile,
            "--log-level", "warning",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        started.append(child)
        readers.append(asyncio.create_task(read_codes(child, number, codes)))
    added: set[str] = set()
    path = f"/api/v1/organizations/{org_id}/appliances"
    async with asyncio.timeout(WAIT + count * 0.2):
        while len(added) < count:
            key, code = await codes.get()
            if key in added:
                continue
            body = {"code": code, "name": f"gw-{key.replace('/', '-')}"}
            status, _answer = await asyncio.to_thread(api.request, "POST", path, body)
            if status == 201:
                added.add(key)
                if len(added) % 100 == 0:
                    progress(f"paired {len(added)}/{count}")
    for reader in readers:
        reader.cancel()
    return started


async def read_codes(
    child: asyncio.subprocess.Process, number: int, codes: asyncio.Queue[tuple[str, str]]
) -> None:
    """Queue each pairing code a simulator process prints (and drain the rest)."""
    assert child.stdout is not None
    while line := await child.stdout.readline():
        found = CODE_LINE.search(line.decode("utf-8", "replace"))
        if found is not None:
            codes.put_nowait((f"{number}/{found.group(1)}", found.group(2)))


async def measure(count: int, rounds: int, processes: int, probes: int = PROBES) -> dict[str, Any]:
    """Run the hub and the fleet; the per-round figures."""
    with tempfile.TemporaryDirectory(prefix="bench-definitions-") as tmp:
        workdir = Path(tmp)
        config = load_config(overrides={"server.port": 0, "hub.data_dir": str(workdir / "data")})
        # Warnings and errors only, on stderr: stdout keeps the report.
        configure_logging("console", "warning", sys.stderr)
        hub = Hub(config)
        await hub.start()
        links: list[tuple[ApplianceLink, asyncio.Task[None]]] = []
        links_to_stop: list[tuple[ApplianceLink, asyncio.Task[None]]] = []
        children: list[asyncio.subprocess.Process] = []
        acked = asyncio.Event()
        counted = [0]
        wanted = [count]

        def on_sync(event: DefinitionsSyncChanged) -> None:
            counted[0] += 1
            if counted[0] >= wanted[0]:
                acked.set()

        subscription = hub.bus.subscribe(DefinitionsSyncChanged, on_sync)
        try:
            await add_member(hub)
            api = HubApi(hub.url, hub.config.data_dir / "tls" / "cert.pem")
            await asyncio.to_thread(api.log_in, EMAIL, PASSWORD)
            org_id = await asyncio.to_thread(api.create_organization, "Bench definitions")
            # Each linked Control reports its versions once (3 kinds: 3 sync events).
            wanted[0] = 3 * count
            if processes:
                children = await pair_processes(hub, api, org_id, workdir, count, processes)
            else:
                links = await pair(hub, api, org_id, workdir, count)
            async with asyncio.timeout(WAIT + count * 0.1):
                await acked.wait()
            probe_links = await pair(hub, api, org_id, workdir, probes, "connect", "probe")
            links_to_stop.extend(probe_links)
            pinger = PingProbes(probe_links)
            pinger.start()
            pinger.phase = "idle"
            await asyncio.sleep(IDLE_SECONDS)
            pinger.phase = ""
            base = f"/api/v1/organizations/{org_id}/definitions/ip_address_groups"
            counted[0], wanted[0] = 0, count
            acked.clear()
            status, group = await asyncio.to_thread(
                api.request, "POST", f"{base}/groups", {"name": "Bench"}
            )
            if status != 201:
                raise RuntimeError(f"create group: {status} {group}")
            async with asyncio.timeout(WAIT):
                await acked.wait()
            to_ack: list[float] = []
            to_apply: list[float] = []
            pids = [child.pid for child in children]
            hub_cpu, fleet_cpu = cpu_seconds([os.getpid()]), cpu_seconds(pids)
            rounds_started = time.perf_counter()
            pinger.phase = "rounds"
            for round_number in range(rounds):
                version = 2 + round_number
                counted[0] = 0
                acked.clear()
                entry = {
                    "type": "Host",
                    "host": f"10.1.{round_number // 250}.{round_number % 250 + 1}",
                }
                started = time.perf_counter()
                status, answer = await asyncio.to_thread(
                    api.request, "POST", f"{base}/groups/{group['id']}/entries", entry
                )
                if status != 201:
                    raise RuntimeError(f"add entry: {status} {answer}")
                if links:
                    await asyncio.gather(*(wait_version(link, version) for link, _ in links))
                    to_apply.append(time.perf_counter() - started)
                async with asyncio.timeout(WAIT):
                    await acked.wait()
                to_ack.append(time.perf_counter() - started)
            pinger.phase = ""
            wall = time.perf_counter() - rounds_started
            hub_cpu = cpu_seconds([os.getpid()]) - hub_cpu
            fleet_cpu = cpu_seconds(pids) - fleet_cpu
            await pinger.stop()
            status, view = await asyncio.to_thread(api.request, "GET", base)
            in_sync = sum(1 for a in view["appliances"] if a["state"] == "in_sync")
            await asyncio.to_thread(api.close)
            return {
                "count": count,
                "rounds": rounds,
                "simulator_processes": processes,
                "in_sync_at_end": in_sync,
                "ack_seconds": to_ack,
                "apply_seconds": to_apply,
                "rounds_wall_seconds": wall,
                "hub_cpu_seconds": hub_cpu,
                "simulators_cpu_seconds": fleet_cpu,
                "probe_ping_idle_seconds": pinger.samples.get("idle", []),
                "probe_ping_rounds_seconds": pinger.samples.get("rounds", []),
            }
        finally:
            subscription.cancel()
            for child in children:
                child.terminate()
            for child in children:
                await child.wait()
            for link, _task in links + links_to_stop:
                link.stop()
            await asyncio.gather(
                *(task for _, task in links + links_to_stop), return_exceptions=True
            )
            await hub.stop(deadline=10.0)


class PingProbes:
    """WebSocket ping round trips of a few other linked appliances (Kerio Connect, which get no
    definitions), `PROBE_INTERVAL` apart each, while a phase is marked (idle or rounds)."""

    def __init__(self, links: list[tuple[ApplianceLink, asyncio.Task[None]]]) -> None:
        self.links = [link for link, _task in links]
        self.samples: dict[str, list[float]] = {}
        self.phase = ""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL)
            phase = self.phase
            if phase:
                times = await asyncio.gather(*(self._ping(link) for link in self.links))
                self.samples.setdefault(phase, []).extend(t for t in times if t is not None)

    async def _ping(self, link: ApplianceLink) -> float | None:
        session = link.session
        conn = session._conn if session is not None else None  # (a bench probe: its socket)
        if conn is None:
            return None
        answered = asyncio.get_running_loop().create_future()

        def on_pong(_data: bytes) -> None:
            if not answered.done():
                answered.set_result(time.perf_counter())

        conn.on_pong = on_pong  # type: ignore[method-assign,assignment]
        started = time.perf_counter()
        conn.ping(b"probe")
        try:
            async with asyncio.timeout(WAIT):
                return float(await answered) - started
        except TimeoutError:
            return None


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(read_proc(pid)[2] for pid in pids) / ticks


async def wait_version(link: ApplianceLink, version: int) -> None:
    assert link.definitions is not None
    await link.definitions.wait_for(lambda d: d.version(Kind.IP) >= version, WAIT)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="Kerio Control simulators")
    parser.add_argument("--rounds", type=int, default=20, help="changes timed")
    parser.add_argument(
        "--processes", type=int, default=2, help="simulator subprocesses (0: in the hub's loop)"
    )
    args = parser.parse_args()
    result = asyncio.run(measure(args.count, args.rounds, args.processes))
    ack, apply = result["ack_seconds"], result["apply_seconds"]
    summary = {
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        **{k: v for k, v in result.items() if not k.endswith("_seconds")},
        "ack_p50": percentile(ack, 50),
        "ack_p99": percentile(ack, 99),
        "ack_max": max(ack),
        "apply_p50": percentile(apply, 50) if apply else None,
        "apply_max": max(apply) if apply else None,
        "load_average": os.getloadavg()[0],
    }
    print(f"Shared definitions: one change to {args.count} Kerio Control simulators")
    where = f"in {args.processes} processes of their own" if args.processes else "in the hub's loop"
    print(f"({args.rounds} changes; the simulators run {where})")
    print("| from the API call to          | p50 | p99 | max |")
    print("|-------------------------------|----:|----:|----:|")
    if apply:
        print(
            f"| the last simulator applied it | {ms(percentile(apply, 50))} | "
            f"{ms(percentile(apply, 99))} | {ms(max(apply))} |"
        )
    print(
        f"| the hub has every answer      | {ms(summary['ack_p50'])} | "
        f"{ms(summary['ack_p99'])} | {ms(summary['ack_max'])} |"
    )
    print(f"in sync at the end: {result['in_sync_at_end']}/{args.count} (target: ≤ 2 s p99)")
    wall = result["rounds_wall_seconds"]
    print(
        f"CPU during the changes ({wall:.1f} s of wall time): hub process "
        f"{result['hub_cpu_seconds']:.1f} s, simulators (nice 19) "
        f"{result['simulators_cpu_seconds']:.1f} s; load average {os.getloadavg()[0]:.1f}"
    )
    idle, busy = result["probe_ping_idle_seconds"], result["probe_ping_rounds_seconds"]
    if idle and busy:
        for name, q in (("p50", 50), ("p99", 99)):
            summary[f"probe_ping_idle_{name}"] = percentile(idle, q)
            summary[f"probe_ping_rounds_{name}"] = percentile(busy, q)
        print(
            f"ping round trip of {PROBES} other appliances: idle p50 "
            f"{ms(percentile(idle, 50))} p99 {ms(percentile(idle, 99))}; during the changes "
            f"p50 {ms(percentile(busy, 50))} p99 {ms(percentile(busy, 99))} "
            f"(ratio p99 {percentile(busy, 99) / percentile(idle, 99):.1f} x)"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**summary, **result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
