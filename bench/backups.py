"""Backup upload benchmark: a backup over the appliance socket against a plain HTTPS upload.

Two server processes on loopback, each with its own core budget like a deployed hub:

- the real hub (`python -m web`, SQLite store, TLS), whose store is seeded with one
  organization and one Kerio Control appliance whose key this process holds;
- a bare Tornado HTTPS server (`python bench/backups.py --serve-bare`) with one streaming
  handler (`@stream_request_body`) that counts the bytes and answers 200: the baseline.

This process uploads the same random bytes (5 MB and 50 MB, `REPEATS` times each, medians
reported): to the hub as a `backup_upload` stream (protocol section 9.6) on a linked v2
connection, the clock running from `stream_open` until the hub ends its side (it does so only
after the backup is sealed, verified, fsynced and listed); to the baseline as one HTTPS POST,
the clock running until its answer. MB/s = 10**6 bytes per second.

Target (issue 12): the socket upload reaches at least 0.7 of the plain upload's throughput.

Then the load part (below `run_load`): ping and status latency of `--others` (100) linked
appliances, idle and while `--uploads` (10) uploads of `--upload-mb` (50) MB run, and the hub's
memory growth meanwhile. Small: `--others 20 --uploads 4 --upload-mb 20`; `--skip-throughput`
runs only the load part. Results go to stdout as tables and to bench/results/backups.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tornado.httpclient
import tornado.httpserver
import tornado.web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from bench.appliances import Dashboard, HubApi, read_proc
from bench.common import percentile, progress
from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.logs import configure_logging
from mykerio.models import Appliance, Organization, User, new_id
from mykerio.protocol.backups import UPLOAD_FRAME_BYTES, UPLOAD_KIND, UploadMeta
from mykerio.security.passwords import PasswordHasher
from mykerio.store import open_store

SIZES = (5_000_000, 50_000_000)
REPEATS = int(os.environ.get("BENCH_REPEATS", 3))
TARGET = 0.7
RESULTS = Path(__file__).resolve().parent / "results" / "backups.json"
FRAME = UPLOAD_FRAME_BYTES


@tornado.web.stream_request_body
class BareUpload(tornado.web.RequestHandler):
    """Counts the bytes of the request body as they arrive, then answers with the count."""

    def prepare(self) -> None:
        self.count = 0

    def data_received(self, chunk: bytes) -> None:
        self.count += len(chunk)

    def post(self) -> None:
        self.write({"bytes": self.count})


def serve_bare(port: int, cert: str, key: str) -> None:
    """The baseline server (a child process)."""

    async def main() -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        app = tornado.web.Application([("/upload", BareUpload)])
        server = tornado.httpserver.HTTPServer(
            app, ssl_options=context, max_body_size=1 << 30, max_buffer_size=1 << 30
        )
        server.listen(port, "127.0.0.1")
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, cafile: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the hub exited early with {process.returncode}")
        if cafile.exists():
            try:
                context = ssl.create_default_context(cafile=str(cafile))
                with urllib.request.urlopen(url, context=context, timeout=2):  # noqa: S310
                    return
            except OSError:
                pass
        time.sleep(0.05)  # (another process: nothing to await)
    raise SystemExit("the hub never answered /healthz")


def start_hub(data: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The real hub, as a user runs it (BENCH_HUB_PREFIX="-m cProfile -o hub.prof" profiles
    it)."""
    prefix = os.environ.get("BENCH_HUB_PREFIX", "").split()
    return subprocess.Popen(
        [sys.executable, *prefix, "-m", "web", "--data-dir", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_bare(port: int, cafile: Path, key: Path) -> subprocess.Popen[bytes]:
    """The baseline server (it prints `ready` once it listens)."""
    command = [sys.executable, __file__, "--serve-bare", str(port), str(cafile), str(key)]
    return subprocess.Popen(command, stdout=subprocess.PIPE)


async def seed(data: Path, identity: IdentityStore) -> None:
    store = await open_store("", data)
    org = await store.organizations.add(
        Organization(id=new_id(), name="bench.example", created_at=datetime.now(UTC))
    )
    await store.appliances.add(
        Appliance(
            id=new_id(),
            org_id=org.id,
            product="control",
            version="9.4.5",
            name="Bench gateway",
            public_key=identity.public_key,
            serial="",
            ip="127.0.0.1",
            status="red",
            status_reasons=("Offline",),
            pending_notifications=0,
            created_at=datetime.now(UTC),
            last_seen=None,
            connected=False,
        )
    )
    await store.close()


async def socket_upload(link: ApplianceLink, content: bytes) -> float:
    """Seconds from `stream_open` to the hub's end of the stream (stored and listed)."""
    session = link.session
    assert session is not None
    assert session.streams is not None
    meta = UploadMeta(
        product="control",
        version="9.4.5",
        created_at=datetime.now(UTC),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        reason="manual",
        certificates=True,
    )
    started = time.perf_counter()
    stream = session.streams.open(UPLOAD_KIND, meta.to_json())
    await stream.accepted()
    view = memoryview(content)
    for start in range(0, len(content), FRAME):
        await stream.write(bytes(view[start : start + FRAME]))
    stream.close()
    await stream.drain()
    sent = time.perf_counter()
    while await stream.read():
        pass
    ended = time.perf_counter()
    progress(f"  sent in {sent - started:.3f} s, stored {ended - sent:.3f} s later")
    return ended - started


async def https_upload(url: str, cafile: Path, content: bytes) -> float:
    """Seconds for one HTTPS POST of `content` to the bare handler."""
    client = tornado.httpclient.AsyncHTTPClient()
    started = time.perf_counter()
    response = await client.fetch(
        url,
        method="POST",
        body=content,
        ssl_options=ssl.create_default_context(cafile=str(cafile)),
        request_timeout=300,
    )
    elapsed = time.perf_counter() - started
    assert json.loads(response.body)["bytes"] == len(content)
    return elapsed


async def run() -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="bench-backups-"))
    data = work / "data"
    identity = IdentityStore(work / "gw")
    await seed(data, identity)
    hub_port = free_port()
    env = {
        **os.environ,
        "MYKERIO_SERVER_PORT": str(hub_port),
        "MYKERIO_BACKUPS_UPLOADS_PER_HOUR": "1000",
    }
    hub = start_hub(data, env)
    cafile = data / "tls" / "cert.pem"
    bare = None
    try:
        wait_ready(f"https://localhost:{hub_port}/healthz", cafile, hub)
        bare_port = free_port()
        bare = start_bare(bare_port, cafile, data / "tls" / "key.pem")
        assert bare.stdout is not None
        bare.stdout.readline()
        endpoint = HubEndpoint.of(f"https://localhost:{hub_port}", cafile=str(cafile))
        link = ApplianceLink(identity, Profile("control", "9.4.5", protocol=2), endpoint)
        task = asyncio.create_task(link.run())
        await link.wait_for(lambda view: view.phase == "linked", 30)
        rows = {}
        for size in SIZES:
            content = os.urandom(size)
            sock, plain = [], []
            for attempt in range(REPEATS):
                progress(f"{size // 1_000_000} MB, run {attempt + 1}/{REPEATS}")
                plain.append(
                    await https_upload(f"https://localhost:{bare_port}/upload", cafile, content)
                )
                sock.append(await socket_upload(link, content))
            socket_mbs = size / statistics.median(sock) / 1e6
            plain_mbs = size / statistics.median(plain) / 1e6
            rows[f"{size // 1_000_000} MB"] = {
                "socket_mb_s": round(socket_mbs, 1),
                "https_mb_s": round(plain_mbs, 1),
                "ratio": round(socket_mbs / plain_mbs, 2),
            }
        link.stop()
        await task
    finally:
        for process in (hub, bare):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
    return {"repeats": REPEATS, "target_ratio": TARGET, "uploads": rows}


# --- other appliances' latency and the hub's memory while uploads run (issue 12, item 8) -------
#
# The hub (a process of its own) holds `--others` linked Kerio Controls and `--uploads` more that
# upload at once. This process holds the others and a member's live dashboard socket; a child
# process (this script, `--upload-child`) holds the uploaders, so the sending does not slow this
# process's clock. Twice, idle and while the uploads run: every `PROBE_INTERVAL` each other
# appliance sends a WebSocket ping frame (the round trip to its pong), and one of them flips a
# status knob (the time until the dashboard shows the colour change: the hub's status path,
# appliance actor, organization, live socket). The hub's RSS is sampled every 50 ms; the growth
# is its peak during the uploads above its RSS just before.
# Targets: ping and status p99 during the uploads ≤ twice idle; RSS growth < 100 MB.

MEMBER_EMAIL = "bench@backups.example"
MEMBER_PASSWORD = "Bench-Backups-Heron-4"  # noqa: S105 - a made-up benchmark password
PROBE_INTERVAL = 0.2
IDLE_SECONDS = 4.0
RSS_TARGET = 100_000_000


async def seed_load(data: Path, work: Path, count: int) -> tuple[str, list[tuple[str, Path]]]:
    """An organization with a confirmed member and `count` Kerio Controls: (org id,
    [(appliance id, identity folder)])."""
    store = await open_store("", data)
    now = datetime.now(UTC)
    user = User(
        id=new_id(),
        email=MEMBER_EMAIL,
        full_name="Bench",
        password_hash=await asyncio.to_thread(PasswordHasher().hash, MEMBER_PASSWORD),
        created_at=now,
        confirmed_at=now,
        password_changed_at=now,
    )
    await store.users.add(user)
    org = await store.organizations.add(
        Organization(id=new_id(), name="bench.example", created_at=now)
    )
    await store.organizations.add_member(org.id, user.id, now)
    appliances = []
    for index in range(count):
        folder = work / f"gw-{index}"
        identity = IdentityStore(folder)
        appliance = await store.appliances.add(
            Appliance(
                id=new_id(),
                org_id=org.id,
                product="control",
                version="9.4.5",
                name=f"gw-{index}",
                public_key=identity.public_key,
                serial="",
                ip="127.0.0.1",
                status="red",
                status_reasons=("Offline",),
                pending_notifications=0,
                created_at=now,
                last_seen=None,
                connected=False,
            )
        )
        appliances.append((appliance.id, folder))
    await store.close()
    return org.id, appliances


async def link_all(
    endpoint: HubEndpoint, folders: list[Path]
) -> list[tuple[ApplianceLink, asyncio.Task[None]]]:
    """Link an appliance for each identity folder (seeded: no pairing)."""
    links = []
    for folder in folders:
        link = ApplianceLink(
            IdentityStore(folder), Profile("control", "9.4.5", protocol=2), endpoint
        )
        links.append((link, asyncio.create_task(link.run())))
    for link, _task in links:
        await link.wait_for(lambda view: view.phase == "linked", 60)
    return links


async def ping_once(link: ApplianceLink) -> float | None:
    """One WebSocket ping frame's round trip, in seconds (None if not linked)."""
    session = link.session
    conn = session._conn if session is not None else None  # (a bench probe: its socket)
    if conn is None:
        return None
    answered: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def on_pong(_data: bytes) -> None:
        if not answered.done():
            answered.set_result(time.perf_counter())

    conn.on_pong = on_pong  # type: ignore[method-assign,assignment]
    started = time.perf_counter()
    conn.ping(b"probe")
    try:
        return await asyncio.wait_for(answered, 30) - started
    except TimeoutError:
        return None


async def probe(
    others: list[tuple[ApplianceLink, str]],
    dashboard: Dashboard,
    until: asyncio.Event,
    flipped: set[str],
) -> tuple[list[float], list[float]]:
    """Ping round trips and status latencies until `until` is set (at least one round);
    `flipped`: the appliances whose knob is on now (kept across calls)."""
    pings: list[float] = []
    statuses: list[float] = []
    turn = 0
    while True:
        round_started = time.perf_counter()
        times = await asyncio.gather(*(ping_once(link) for link, _ in others))
        pings.extend(t for t in times if t is not None)
        link, appliance_id = others[turn % len(others)]
        low = appliance_id not in flipped  # yellow with low memory, green again without
        arrival = dashboard.expect(appliance_id, "yellow" if low else "green")
        started = time.perf_counter()
        link.set_knobs({"low_memory": low})
        statuses.append(await asyncio.wait_for(arrival, 30) - started)
        (flipped.add if low else flipped.discard)(appliance_id)
        turn += 1
        if until.is_set():
            return pings, statuses
        await asyncio.sleep(max(0.0, PROBE_INTERVAL - (time.perf_counter() - round_started)))


async def sample_rss(pid: int, until: asyncio.Event) -> int:
    """The highest RSS of process `pid` until `until` is set, sampled every 50 ms."""
    peak = 0
    while not until.is_set():
        peak = max(peak, read_proc(pid)[0])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), 0.05)
    return max(peak, read_proc(pid)[0])


async def run_load(others_count: int, uploads: int, upload_bytes: int) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="bench-backups-load-"))
    data = work / "data"
    org_id, appliances = await seed_load(data, work, others_count + uploads)
    hub_port = free_port()
    env = {
        **os.environ,
        "MYKERIO_SERVER_PORT": str(hub_port),
        "MYKERIO_BACKUPS_UPLOADS_PER_HOUR": "1000",
    }
    hub = start_hub(data, env)
    cafile = data / "tls" / "cert.pem"
    child = None
    links: list[tuple[ApplianceLink, asyncio.Task[None]]] = []
    try:
        wait_ready(f"https://localhost:{hub_port}/healthz", cafile, hub)
        url = f"https://localhost:{hub_port}"
        endpoint = HubEndpoint.of(url, cafile=str(cafile))
        progress(f"linking {others_count} other appliances")
        links = await link_all(endpoint, [folder for _id, folder in appliances[:others_count]])
        ids = [appliance_id for appliance_id, _folder in appliances[:others_count]]
        others = [(link, appliance_id) for (link, _), appliance_id in zip(links, ids, strict=True)]
        api = HubApi(url, cafile)
        await asyncio.to_thread(api.log_in, MEMBER_EMAIL, MEMBER_PASSWORD)
        dashboard = Dashboard()
        await dashboard.open(api, org_id)

        idle_done = asyncio.Event()
        idle_rss = read_proc(hub.pid)[0]
        asyncio.get_running_loop().call_later(IDLE_SECONDS, idle_done.set)
        flipped: set[str] = set()
        idle_pings, idle_statuses = await probe(others, dashboard, idle_done, flipped)

        folders = [str(folder) for _id, folder in appliances[others_count:]]
        command = [sys.executable, __file__, "--upload-child", url, str(cafile),
                   str(upload_bytes), *folders]  # fmt: skip
        child = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
        assert child.stdout is not None
        await asyncio.wait_for(marked_line(child.stdout, "LINKED"), 120)
        before_rss = read_proc(hub.pid)[0]
        done = asyncio.Event()
        rss_task = asyncio.create_task(sample_rss(hub.pid, done))
        probing = asyncio.create_task(probe(others, dashboard, done, flipped))
        finished = await asyncio.wait_for(marked_line(child.stdout, "SECONDS "), 600)
        done.set()
        busy_pings, busy_statuses = await probing
        peak_rss = await rss_task
        await child.wait()
        seconds = json.loads(finished)
        dashboard.close()
        await asyncio.to_thread(api.close)
    finally:
        for link, _task in links:
            link.stop()
        await asyncio.gather(*(task for _, task in links), return_exceptions=True)
        if child is not None and child.returncode is None:
            child.terminate()
            await child.wait()
        if hub.poll() is None:
            hub.send_signal(signal.SIGTERM)
            hub.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    def p(values: list[float], q: float) -> float:
        return round(percentile(values, q) * 1e3, 1)

    return {
        "others": others_count,
        "uploads": uploads,
        "upload_bytes": upload_bytes,
        "upload_seconds": seconds,
        "ping_ms": {"idle_p50": p(idle_pings, 50), "idle_p99": p(idle_pings, 99),
                    "busy_p50": p(busy_pings, 50), "busy_p99": p(busy_pings, 99),
                    "samples": [len(idle_pings), len(busy_pings)]},
        "status_ms": {"idle_p50": p(idle_statuses, 50), "idle_p99": p(idle_statuses, 99),
                      "busy_p50": p(busy_statuses, 50), "busy_p99": p(busy_statuses, 99),
                      "samples": [len(idle_statuses), len(busy_statuses)]},
        "hub_rss_mb": {"idle": round(idle_rss / 1e6, 1), "before": round(before_rss / 1e6, 1),
                       "peak": round(peak_rss / 1e6, 1),
                       "growth": round((peak_rss - before_rss) / 1e6, 1)},
        "load_average": os.getloadavg()[0],
    }  # fmt: skip


async def marked_line(stream: asyncio.StreamReader, marker: str) -> str:
    """The rest of the child's next line that starts with `marker` (its log lines pass)."""
    while line := (await stream.readline()).decode():
        if line.startswith(marker):
            return line[len(marker) :]
    raise RuntimeError(f"the upload child ended before it printed {marker.strip()}")


def upload_child(url: str, cafile: str, size: int, folders: list[str]) -> None:
    """Link the uploaders, print LINKED, upload `size` bytes from each at once, print the
    seconds each took (JSON)."""

    async def main() -> None:
        endpoint = HubEndpoint.of(url, cafile=cafile)
        links = await link_all(endpoint, [Path(f) for f in folders])
        content = os.urandom(size)
        print("LINKED", flush=True)
        seconds = await asyncio.gather(*(socket_upload(link, content) for link, _ in links))
        print("SECONDS " + json.dumps([round(s, 2) for s in seconds]), flush=True)
        for link, _task in links:
            link.stop()
        await asyncio.gather(*(task for _, task in links), return_exceptions=True)

    asyncio.run(main())


def report_load(result: dict[str, Any]) -> None:
    ping, status, rss = result["ping_ms"], result["status_ms"], result["hub_rss_mb"]
    print(
        f"\n{result['others']} other appliances while {result['uploads']} uploads of "
        f"{result['upload_bytes'] // 1_000_000} MB run (uploads took {result['upload_seconds']} s;"
        f" load average {result['load_average']:.1f})"
    )
    print("| what            | idle p50 | idle p99 | busy p50 | busy p99 | p99 ratio (≤ 2) |")
    print("|-----------------|---------:|---------:|---------:|---------:|----------------:|")
    for name, row in (("ping round trip", ping), ("status on screen", status)):
        ratio = row["busy_p99"] / max(row["idle_p99"], 0.1)
        print(
            f"| {name:<15} | {row['idle_p50']} ms | {row['idle_p99']} ms | {row['busy_p50']} ms "
            f"| {row['busy_p99']} ms | {ratio:.2f} |"
        )
    print(
        f"hub RSS: {rss['before']} MB before the uploads, peak {rss['peak']} MB: grew "
        f"{rss['growth']} MB (target < {RSS_TARGET // 1_000_000} MB)"
    )


def main() -> None:
    # Warnings and errors only, on stderr (the in-process appliances log every link): stdout
    # keeps the report.
    configure_logging("console", "warning", sys.stderr)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve-bare", nargs=3, metavar=("PORT", "CERT", "KEY"))
    parser.add_argument("--upload-child", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    parser.add_argument("--others", type=int, default=100, help="other appliances (default 100)")
    parser.add_argument("--uploads", type=int, default=10, help="concurrent uploads (default 10)")
    parser.add_argument("--upload-mb", type=int, default=50, help="MB per upload (default 50)")
    parser.add_argument("--skip-throughput", action="store_true", help="only the load part")
    args = parser.parse_args()
    if args.serve_bare:
        port, cert, key = args.serve_bare
        serve_bare(int(port), cert, key)
        return
    if args.upload_child:
        url, cafile, size, *folders = args.upload_child
        upload_child(url, cafile, int(size), folders)
        return
    result: dict[str, Any] = {}
    if not args.skip_throughput:
        result = asyncio.run(run())
        heading = f"{'upload':<8} {'socket MB/s':>12} {'HTTPS MB/s':>11} {'ratio':>6}"
        print(f"{heading}  (target ≥ {TARGET})")
        for name, row in result["uploads"].items():
            print(f"{name:<8} {row['socket_mb_s']:>12} {row['https_mb_s']:>11} {row['ratio']:>6}")
    load = asyncio.run(run_load(args.others, args.uploads, args.upload_mb * 1_000_000))
    report_load(load)
    result["load"] = load
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
