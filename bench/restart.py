"""Restart benchmark (issue 17, item 5): N linked appliances, a hub restart, how fast all are back.

`python bench/restart.py N [N ...]` (default 1,000). For each N: a production-configured hub
(`--hub`, a subprocess: SQLite store, TLS, default `[appliances]` settings, JSON info logs to a
file) writes N appliances of one organization straight to its store, with the simulator
identities they belong to; simulator processes (`python -m mykerio.agent --count K
--handshakes 0`, every appliance knocking when it likes, as separate machines do) run at nice 19
so the hub gets the CPU it would have alone, and link all N. Then the hub gets SIGTERM (time to
exit reported against its 10 s deadline, while the appliances keep reconnecting), and a second
hub starts on the same port and data directory. Reported from its start: time to `/readyz`
answering 200, to 50 / 90 / 99 / 100 % of the appliances welcomed again (each simulator prints
"Ready" on `welcome`, after which it sends `status` at once: the proxy used here for green),
appliances not back after 180 s, the second hub's peak CPU (% of one core, from /proc utime +
stime per 0.5 s) and peak RSS, its event-loop lag p99 over the storm (its `/metrics` histogram:
the upper bound of the bucket holding the 99th percentile), and the simulators' CPU time beside
the hub's. The machine is shared: run it at 1,000 or 5,000, not more, unless it is yours.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import shutil
import signal
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PER_PROCESS = 1000
BACK_LIMIT = 180.0
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- the hub subprocess ------------------------------------------------------------------------
async def serve_hub(data_dir: Path, port: int, seed: Path | None, count: int) -> None:
    """Start a hub (seeding `count` appliances whose identities go to `seed`); until SIGTERM."""
    from datetime import UTC, datetime

    from mykerio.agent.identity import IdentityStore
    from mykerio.config import load_config
    from mykerio.models import Appliance, Organization, new_id
    from web.hub import Hub

    config = load_config(overrides={"server.port": port, "hub.data_dir": str(data_dir)})
    hub = Hub(config)
    await hub.start()
    try:
        assert hub.store is not None
        if seed is not None:
            now = datetime.now(UTC)
            org = await hub.store.organizations.add(Organization(new_id(), "Bench", now))
            for index in range(count):
                state = seed / f"p{index // PER_PROCESS}" / str(index % PER_PROCESS)
                key = IdentityStore(state).public_key
                await hub.store.appliances.add(
                    Appliance(
                        id=new_id(), org_id=org.id, product="control", version="9.4.0",
                        name=f"box-{index}", public_key=key, serial="", ip="192.0.2.1",
                        status="red", status_reasons=("Offline",), pending_notifications=0,
                        created_at=now, last_seen=None, connected=False,
                    )
                )  # fmt: skip
        print(json.dumps({"event": "ready", "url": hub.url, "port": hub.port}), flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
    finally:
        await hub.stop()


def run_hub(args: argparse.Namespace) -> None:
    import resource

    from mykerio.logs import configure_logging

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with (Path(args.hub) / f"hub-{os.getpid()}.log").open("w", encoding="utf-8") as stream:
        configure_logging("json", "info", stream=stream)
        seed = Path(args.seed) if args.seed else None
        asyncio.run(serve_hub(Path(args.hub) / "data", args.port, seed, args.count))


# --- the parent ----------------------------------------------------------------------------------
def cpu_rss(pid: int) -> tuple[float, int]:
    """CPU seconds (utime + stime) and RSS bytes of `pid`."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK, int(fields[21]) * PAGE


async def start_hub(workdir: Path, port: int, seed: Path | None, count: int) -> Any:
    command = [sys.executable, __file__, "--hub", str(workdir), "--port", str(port)]
    if seed is not None:
        command += ["--seed", str(seed), "--count", str(count)]
    return await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, start_new_session=True
    )


async def ready(hub: Any, timeout: float) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            line = await hub.stdout.readline()
            if not line:
                raise RuntimeError("the hub exited")
            if line.startswith(b"{"):
                return dict(json.loads(line))


async def fetch(url: str, context: ssl.SSLContext) -> tuple[int, str]:
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

    try:
        response = await AsyncHTTPClient().fetch(
            HTTPRequest(url, ssl_options=context, request_timeout=2.0), raise_error=False
        )
    except (OSError, HTTPClientError):
        # A request that times out in the storm (its TLS handshake queued behind the
        # appliances') or finds the port closed is "not ready yet", not the end of the run.
        return 599, ""
    return response.code, response.body.decode() if response.body else ""


def lag_p99(metrics: str, before: dict[float, float]) -> tuple[float, dict[float, float]]:
    """The upper bound of the loop-lag bucket holding the 99th percentile, since `before`."""
    found = re.findall(r'mykerio_event_loop_lag_seconds_bucket\{le="([^"]+)"\} (\S+)', metrics)
    now = {float(le): float(n) for le, n in found}
    diff = {le: n - before.get(le, 0.0) for le, n in now.items()}
    total = diff.get(float("inf"), 0.0)
    for le in sorted(diff):
        if total and diff[le] >= 0.99 * total:
            return le, now
    return float("nan"), now


async def run_size(n: int, workdir: Path) -> dict[str, Any]:
    shm = "/dev/shm"  # noqa: S108 - a private directory is made in it
    states = Path(tempfile.mkdtemp(dir=shm if os.path.isdir(shm) else workdir))  # noqa: ASYNC240
    hub = await start_hub(workdir, 0, states, n)
    first = await ready(hub, timeout=60 + n / 50)
    url, port = first["url"], first["port"]
    cafile = workdir / "data" / "tls" / "cert.pem"
    context = ssl.create_default_context(cafile=str(cafile))
    linked: dict[tuple[int, int], float] = {}
    sims: list[Any] = []
    changed = asyncio.Event()

    async def read(number: int, stdout: asyncio.StreamReader) -> None:
        while line := (await stdout.readline()).decode():
            found = re.search(r"^\[(\d+)\] MyKerio: (\S+)", line)
            if found:
                key = (number, int(found.group(1)))
                if found.group(2) == "Ready.":
                    linked[key] = time.monotonic()
                else:
                    linked.pop(key, None)
                changed.set()

    async def until(count: int, timeout: float) -> bool:
        with_deadline = time.monotonic() + timeout
        while len(linked) < count:
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), max(0.01, with_deadline - time.monotonic()))
            except TimeoutError:
                return False
        return True

    readers = []
    for number, start in enumerate(range(0, n, PER_PROCESS)):
        count = min(PER_PROCESS, n - start)
        sim = await asyncio.create_subprocess_exec(
            "nice", "-n", "19", sys.executable, "-m", "mykerio.agent", "--count", str(count),
            "--hub", url, "--state", str(states / f"p{number}"), "--cafile", str(cafile),
            "--handshakes", "0",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        sims.append(sim)
        assert sim.stdout is not None
        readers.append(asyncio.create_task(read(number, sim.stdout)))
    result: dict[str, Any] = {"n": n}
    try:
        if not await until(n, timeout=120 + n / 20):
            raise RuntimeError(f"only {len(linked)} of {n} linked before the restart")
        sims_cpu = sum(cpu_rss(s.pid)[0] for s in sims)
        began = time.monotonic()
        hub.send_signal(signal.SIGTERM)
        await hub.wait()
        result["stop_s"] = round(time.monotonic() - began, 2)
        linked.clear()
        started = time.monotonic()
        hub = await start_hub(workdir, port, None, 0)
        samples: list[tuple[float, float, int]] = []

        async def sample() -> None:
            while True:
                try:
                    samples.append((time.monotonic(), *cpu_rss(hub.pid)))
                except FileNotFoundError:
                    return
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample())
        await ready(hub, timeout=60)
        while (await fetch(url + "/readyz", context))[0] != 200:  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.1)
        result["readyz_s"] = round(time.monotonic() - started, 2)
        _p, before = lag_p99((await fetch(url + "/metrics", context))[1], {})
        await until(n, timeout=BACK_LIMIT - (time.monotonic() - started))
        times = sorted(t - started for t in linked.values())
        for share in (50, 90, 99, 100):
            needed = max(1, int(n * share / 100))
            result[f"green_{share}_s"] = (
                round(times[needed - 1], 1) if len(times) >= needed else None
            )
        result["not_back_180s"] = n - len(times)
        result["loop_lag_p99_s"], _ = lag_p99((await fetch(url + "/metrics", context))[1], before)
        sampler.cancel()
        rates = [
            (c2 - c1) / (t2 - t1) * 100 for (t1, c1, _), (t2, c2, _) in itertools.pairwise(samples)
        ]
        peak = max(rates, default=0.0)
        result["hub_peak_cpu_pct"] = round(peak, 0)
        result["hub_peak_rss_mib"] = round(max(r for _, _, r in samples) / 2**20, 0)
        result["hub_cpu_s"] = round(samples[-1][1] - samples[0][1], 1)
        result["sims_cpu_s"] = round(sum(cpu_rss(s.pid)[0] for s in sims) - sims_cpu, 1)
    finally:
        for process in [hub, *sims]:
            if process.returncode is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [hub, *sims]:
            await process.wait()
        for reader in readers:
            reader.cancel()
        shutil.rmtree(states, ignore_errors=True)
    return result


async def main(sizes: list[int]) -> None:
    for n in sizes:
        with tempfile.TemporaryDirectory() as workdir:
            result = await run_size(n, Path(workdir))
        print(json.dumps(result), flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000])
    parser.add_argument("--hub", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seed", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.hub:
        run_hub(arguments)
    else:
        asyncio.run(main(arguments.sizes))
