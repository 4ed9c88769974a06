"""Notification relay benchmark (issue 16, item 8): N appliances each relay 10 emails at once.

`python bench/relay.py [--appliances N]` (default 1,000; `--appliances 20` for a quick run on a
shared machine). Three processes on loopback: a production-configured hub (`--hub`: SQLite
store, TLS, mail to the sink over plain SMTP, JSON warning logs to a file), an SMTP sink
(`--sink`: aiosmtpd, counting what arrives) and this process, which holds N simulated Kerio
Controls (`mykerio.agent`, protocol 2) that connect and wait to be added (any key may relay)
and then, all at once, each submit 10 emails of one recipient (`relay_email`).

Reported: emails accepted per second (until the last `relay_result`), the time until every
email reached the SMTP server (from the burst's start), and the hub's event-loop lag p99 over
the burst (its `/metrics` histogram: the upper bound of the bucket holding the 99th
percentile; target ≤ 20 ms). Baseline, measured in the same run before the appliances connect:
the same number of emails sent straight to the sink by one client, one connection per email as
the hub's mailer sends them; the ratio is the relay's delivery time over it. Results go to
stdout as JSON and to bench/results/relay.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import ssl
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import progress
from bench.restart import fetch, lag_p99

PER_APPLIANCE = 10
LAG_TARGET = 0.020
RESULTS = Path(__file__).resolve().parent / "results" / "relay.json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the SMTP sink subprocess --------------------------------------------------------------------
def run_sink(port: int, expect: int) -> None:
    """Count messages; print `{"count", "at"}` every 100 and at `expect`; until SIGTERM."""
    from aiosmtpd.controller import Controller

    count = 0

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            nonlocal count
            count += 1
            if count % 100 == 0 or count == expect:
                print(json.dumps({"count": count, "at": time.time()}), flush=True)
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    controller.start()
    print(json.dumps({"event": "ready"}), flush=True)
    signal.sigwait({signal.SIGTERM})
    controller.stop()


# --- the hub subprocess --------------------------------------------------------------------------
def run_hub(workdir: Path, port: int, smtp_port: int) -> None:
    import resource

    from mykerio.config import load_config
    from mykerio.logs import configure_logging
    from web.hub import Hub

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    config = load_config(
        overrides={
            "server.port": port,
            "hub.data_dir": str(workdir / "data"),
            "mail.smtp_host": "127.0.0.1",
            "mail.smtp_port": smtp_port,
            "mail.smtp_security": "none",
            # Every simulated appliance connects from 127.0.0.1 with a key in no organization:
            # the per-source cap would stop them after 300 (it is tested elsewhere).
            "relay.source_quota": 10**9,
        }
    )

    async def serve() -> None:
        hub = Hub(config)
        await hub.start()
        print(json.dumps({"event": "ready", "port": hub.port}), flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        try:
            await stop.wait()
        finally:
            await hub.stop()

    with (workdir / "hub.log").open("w", encoding="utf-8") as stream:
        configure_logging("json", "warning", stream=stream)
        asyncio.run(serve())


# --- the parent ----------------------------------------------------------------------------------
async def child(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, __file__, *args, stdout=asyncio.subprocess.PIPE, start_new_session=True
    )


async def line(process: asyncio.subprocess.Process, timeout: float) -> dict[str, Any]:
    assert process.stdout is not None
    async with asyncio.timeout(timeout):
        while True:
            text = await process.stdout.readline()
            if not text:
                raise RuntimeError("a child process exited")
            if text.startswith(b"{"):
                return dict(json.loads(text))


async def baseline(smtp_port: int, count: int) -> float:
    """Seconds to send `count` emails straight to the sink, one connection each, in turn."""
    import aiosmtplib

    started = time.perf_counter()
    for index in range(count):
        message = EmailMessage()
        message["From"] = "bench@localhost"
        message["To"] = f"u{index}@example.com"
        message["Subject"] = "baseline"
        message.set_content("Low memory\n")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=smtp_port, timeout=30)
    return time.perf_counter() - started


async def run(appliances: int, workdir: Path) -> dict[str, Any]:
    from mykerio.agent.endpoint import HubEndpoint
    from mykerio.agent.identity import IdentityStore
    from mykerio.agent.link import ApplianceLink
    from mykerio.agent.profile import Profile

    total = appliances * PER_APPLIANCE
    smtp_port, hub_port = free_port(), free_port()
    sink = await child("--sink", str(smtp_port), "--expect", str(2 * total))
    hub = await child("--hub", str(workdir), "--port", str(hub_port), "--smtp", str(smtp_port))
    links: list[tuple[ApplianceLink, asyncio.Task[None]]] = []
    try:
        await line(sink, 10)
        await line(hub, 30)
        progress(f"baseline: {total} emails straight to the sink")
        baseline_s = await baseline(smtp_port, total)
        os.nice(10)  # the appliances are other machines: the hub comes first
        cert = workdir / "data" / "tls" / "cert.pem"
        url = f"https://localhost:{hub_port}"
        endpoint = HubEndpoint.of(url, cafile=str(cert))
        context = ssl.create_default_context(cafile=str(cert))
        handshakes = asyncio.Semaphore(32)
        for index in range(appliances):
            profile = Profile("control", "9.4.5", host_name=f"box-{index}", protocol=2)
            store = IdentityStore(workdir / "appliances" / str(index))
            link = ApplianceLink(store, profile, endpoint, handshakes=handshakes)
            links.append((link, asyncio.create_task(link.run())))
        progress(f"{appliances} appliances connecting")
        await asyncio.gather(
            *(link.wait_for(lambda view: view.phase == "pairing", 300) for link, _ in links)
        )
        _lag, before = lag_p99((await fetch(url + "/metrics", context))[1], {})
        progress(f"burst: {total} emails")
        started_wall, started = time.time(), time.perf_counter()
        sends = [
            link.relay.send([f"a{index}-{n}@example.com"], f"Alert {n}", "Low memory\n")
            for index, (link, _) in enumerate(links)
            for n in range(PER_APPLIANCE)
        ]
        outcomes = [o for found in await asyncio.gather(*sends) for o in found]
        answered = time.perf_counter() - started
        accepted = sum(outcome.accepted for outcome in outcomes)
        delivered_at = started_wall
        while True:
            event = await line(sink, 600)
            if event["count"] >= 2 * total:
                delivered_at = float(event["at"])
                break
        lag, _ = lag_p99((await fetch(url + "/metrics", context))[1], before)
        delivered = delivered_at - started_wall
        return {
            "appliances": appliances,
            "emails": total,
            "accepted": accepted,
            "accepted_per_s": round(accepted / answered, 1),
            "answered_s": round(answered, 3),
            "delivered_s": round(delivered, 3),
            "baseline_direct_smtp_s": round(baseline_s, 3),
            "delivery_ratio": round(delivered / baseline_s, 2),
            "loop_lag_p99_s": lag,
            "loop_lag_ok": lag <= LAG_TARGET,
            "cores": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        for link, _task in links:
            link.stop()
        await asyncio.gather(*(task for _link, task in links), return_exceptions=True)
        for process in (hub, sink):
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    async with asyncio.timeout(15):
                        await process.wait()
                except TimeoutError:
                    process.kill()


async def main(appliances: int) -> None:
    from mykerio.logs import configure_logging

    configure_logging("console", "warning", stream=sys.stderr)
    with tempfile.TemporaryDirectory() as workdir:
        result = await run(appliances, Path(workdir))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result), flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appliances", type=int, default=1000)
    parser.add_argument("--hub", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--smtp", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--sink", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.sink:
        run_sink(arguments.sink, arguments.expect)
    elif arguments.hub:
        run_hub(Path(arguments.hub), arguments.port, arguments.smtp)
    else:
        asyncio.run(main(arguments.appliances))
