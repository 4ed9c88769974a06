"""Open administration benchmark: an appliance's admin pages through the hub's tunnel against
the same pages fetched directly from the simulator.

Processes on loopback, each with its own core budget as deployed:

- the real hub (`python -m web`, SQLite, TLS, the tunnel origin on its own port), its store
  seeded with one user, one organization and two Kerio Control appliances whose keys this
  process made;
- the simulator of the first appliance (`python -m mykerio.agent`, its admin UI on a port of
  its own: the direct baseline);
- Chromium (Debian's `chromium`, driven by Playwright, cache disabled), for page loads;
- a load child (`python bench/tunnel.py --load ...`) for the concurrent tunnels;
- the second appliance, linked from this process, whose WebSocket ping round trips to the hub
  are timed.

Measured in the same run (medians; the machine's load is printed with them):

1. **50-asset page**: `/admin/icons` (the page and its 50 icons, 51 requests) loaded `RUNS`
   times directly and through the tunnel, alternating: from navigation start to the load event.
   Target: tunnel ≤ 1.3 times direct.
2. **Bulk download**: `/admin/download/big.bin` (50 MB, generated and streamed) through the
   tunnel, MB/s = 10**6 bytes per second. Target ≥ 50 MB/s.
3. **WebSocket set-up**: `SOCKETS` times, one after another, from `new WebSocket` to its first
   message (the console's greeting: open end to end), direct and through the tunnel; p50/p99.
   Target: tunnel p99 ≤ 100 ms.
4. **100 concurrent tunnels** (`--concurrent`; 100 requests of 2 MB in flight through the
   first appliance's tunnel): the second appliance's ping round trip p50/p99, idle and during
   the load.

Run: `.venv/bin/python bench/tunnel.py` (about a minute); `--runs 3 --concurrent 20` for a
small run. Results go to stdout as a table and to bench/results/tunnel.json.
"""

from __future__ import annotations

import argparse
import asyncio
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
from urllib.parse import urlparse

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# `python bench/tunnel.py` puts bench/ first on sys.path, where bench/actors.py would shadow
# the `actors` package: put the repository root there instead.
sys.path[:] = [entry for entry in sys.path if Path(entry or os.curdir).resolve() != BENCH_DIR]
sys.path.insert(0, str(REPO_ROOT))

import tornado.httpclient  # noqa: E402

from bench.common import percentile, progress  # noqa: E402
from mykerio.agent.endpoint import HubEndpoint  # noqa: E402
from mykerio.agent.identity import IdentityStore  # noqa: E402
from mykerio.agent.link import ApplianceLink  # noqa: E402
from mykerio.agent.profile import Profile  # noqa: E402
from mykerio.models import Appliance, Organization, User, new_id  # noqa: E402
from mykerio.security.passwords import PasswordHasher  # noqa: E402
from mykerio.store import open_store  # noqa: E402
from tests.api_client import ApiSession  # noqa: E402

EMAIL = "bench@bench.example"
PASSWORD = "Bench-Tunnel-2026"  # noqa: S105 (a throwaway hub's only user)
PAGE_TARGET = 1.3
DOWNLOAD_TARGET = 50.0
WS_TARGET_MS = 100.0
DOWNLOAD_BYTES = 50 * 1024 * 1024
LOAD_BYTES = 2_000_000
PINGS = 200
RESULTS = BENCH_DIR / "results" / "tunnel.json"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic"]
# Milliseconds from `new WebSocket` to its greeting (the first message: the socket is open
# end to end), one at a time.
_SOCKET_TIMES = """async (count) => { const times = [];
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await new Promise((done, failed) => {
      const socket = new WebSocket(`${scheme}://${location.host}/admin/ws`);
      socket.onmessage = () => { times.push(performance.now() - started); socket.close(); done(); };
      socket.onerror = failed;
    });
  }
  return times; }"""
SOCKETS = 100
_PAGE_TIME = """() => { const n = performance.getEntriesByType("navigation")[0];
  return n.loadEventEnd - n.startTime; }"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seed(data: Path, keys: list[bytes]) -> tuple[str, list[str]]:
    """The organization's id and the appliances' ids."""
    store = await open_store("", data)
    now = datetime.now(UTC)
    user = await store.users.add(
        User(
            id=new_id(),
            email=EMAIL,
            full_name="Bench Admin",
            password_hash=PasswordHasher().hash(PASSWORD),
            created_at=now,
            confirmed_at=now,
            password_changed_at=now,
        )
    )
    org = await store.organizations.add(Organization(id=new_id(), name="Bench", created_at=now))
    await store.organizations.add_member(org.id, user.id, now)
    ids = []
    for number, key in enumerate(keys):
        appliance = await store.appliances.add(
            Appliance(
                id=new_id(),
                org_id=org.id,
                product="control",
                version="9.4.5",
                name=f"gw-{number}",
                public_key=key,
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
        ids.append(appliance.id)
    await store.close()
    return org.id, ids


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A server process of the bench (the hub, the simulator), quiet."""
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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


async def ticket(api: ApiSession, org_id: str, appliance_id: str) -> str:
    answer = await api.post(
        f"/api/v1/organizations/{org_id}/appliances/{appliance_id}/administration"
    )
    if answer.status != 201:
        raise SystemExit(f"Open administration answered {answer.status}: {answer.raw[:200]!r}")
    return str(answer.json["url"])


async def tunnel_cookie(url: str, cafile: Path) -> str:
    """Redeem a ticket outside the browser: the tunnel cookie's value."""
    parts = urlparse(url)
    browser = ApiSession(f"{parts.scheme}://{parts.netloc}", str(cafile))
    await browser.get(f"{parts.path}?{parts.query}")
    return browser.cookies["__Host-mk_tunnel"]


async def page_loads(
    direct: str, entry: str, tunnel: str, runs: int
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Milliseconds to the load event of /admin/icons, direct and through the tunnel; then
    WebSocket set-up times, direct and through the tunnel."""
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("chromium is not installed (.ci/install-system-deps)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = await browser.new_context(ignore_https_errors=True)
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        await page.goto(entry)  # the ticket: signs in, sets the tunnel cookie
        direct_ms: list[float] = []
        tunnel_ms: list[float] = []
        for run in range(runs + 1):
            progress(f"page loads, run {run}/{runs}")
            for base, into in ((direct, direct_ms), (tunnel, tunnel_ms)):
                await page.goto(base + "/admin/icons", wait_until="load")
                if run:  # (the first run warms both up: connections, code paths)
                    into.append(float(await page.evaluate(_PAGE_TIME)))
        progress("websocket set-up")
        sockets: list[list[float]] = []
        for base in (direct, tunnel):
            await page.goto(base + "/admin/icons", wait_until="load")
            sockets.append([float(t) for t in await page.evaluate(_SOCKET_TIMES, SOCKETS)])
        await browser.close()
    return direct_ms, tunnel_ms, sockets[0], sockets[1]


async def download(url: str, cookie: str, cafile: Path, size: int) -> float:
    """MB/s of one tunnelled download."""
    received = 0

    def count(chunk: bytes) -> None:
        nonlocal received
        received += len(chunk)

    client = tornado.httpclient.AsyncHTTPClient(force_instance=True)
    started = time.perf_counter()
    await client.fetch(
        tornado.httpclient.HTTPRequest(
            f"{url}/admin/download/big.bin?size={size}",
            headers={"Cookie": f"__Host-mk_tunnel={cookie}"},
            ssl_options=ssl.create_default_context(cafile=str(cafile)),
            streaming_callback=count,
            request_timeout=300,
        )
    )
    client.close()
    if received != size:
        raise SystemExit(f"the download brought {received} bytes, not {size}")
    return size / (time.perf_counter() - started) / 1e6


async def load(url: str, cookie: str, cafile: str, count: int) -> None:
    """The load child: `count` tunnelled downloads of LOAD_BYTES in flight at once."""
    client = tornado.httpclient.AsyncHTTPClient(force_instance=True, max_clients=count)
    context = ssl.create_default_context(cafile=cafile)

    async def one() -> None:
        await client.fetch(
            tornado.httpclient.HTTPRequest(
                f"{url}/admin/download/big.bin?size={LOAD_BYTES}",
                headers={"Cookie": f"__Host-mk_tunnel={cookie}"},
                ssl_options=context,
                streaming_callback=lambda chunk: None,
                request_timeout=300,
            )
        )

    print("started", flush=True)
    await asyncio.gather(*(one() for _ in range(count)))


async def ping_times(
    link: ApplianceLink, count: int, until: asyncio.Future[Any] | None = None
) -> list[float]:
    """Milliseconds of WebSocket ping → pong round trips of the appliance's socket to the hub,
    one at a time (while `until` runs, if given)."""
    session = link.session
    conn = session._conn if session is not None else None
    if conn is None:
        raise SystemExit("the second appliance is not connected")
    times: list[float] = []
    for _ in range(count):
        if until is not None and until.done():
            break
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def pong(data: bytes, answered: asyncio.Future[None] = answered) -> None:
            if not answered.done():
                answered.set_result(None)

        conn.on_pong = pong  # type: ignore[method-assign]
        started = time.perf_counter()
        conn.ping(b"bench")
        await asyncio.wait_for(answered, 10)
        times.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.005)  # (spread over the load, not back to back)
    return times


async def run(runs: int, concurrent: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-tunnel-"))
    data = work / "data"
    target, other = IdentityStore(work / "gw0"), IdentityStore(work / "gw1")
    org_id, (target_id, _) = await seed(data, [target.public_key, other.public_key])
    hub_port, tunnel_port, ui_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "MYKERIO_SERVER_PORT": str(hub_port),
        "MYKERIO_TUNNEL_PORT": str(tunnel_port),
        "MYKERIO_LOG_LEVEL": "warning",
    }
    cafile = data / "tls" / "cert.pem"
    hub_url, tunnel_url = f"https://localhost:{hub_port}", f"https://localhost:{tunnel_port}"
    hub = start([sys.executable, "-m", "web", "--data-dir", str(data)], env)
    processes: list[subprocess.Popen[bytes]] = [hub]
    try:
        wait_ready(f"{hub_url}/healthz", cafile, hub)
        simulator = [sys.executable, "-m", "mykerio.agent", "--hub", hub_url, "--state"]
        simulator += [str(work / "gw0"), "--cafile", str(cafile), "--ui-port", str(ui_port)]
        processes.append(start([*simulator, "--quiet"], env))
        endpoint = HubEndpoint.of(hub_url, cafile=str(cafile))
        link = ApplianceLink(other, Profile("control", "9.4.5", protocol=2), endpoint)
        linked = asyncio.create_task(link.run())
        await link.wait_for(lambda view: view.phase == "linked", 30)
        api = ApiSession(hub_url, str(cafile))
        answer = await api.post(
            "/api/v1/sessions", {"email": EMAIL, "password": PASSWORD, "keep_logged_in": False}
        )
        if answer.status != 200:
            raise SystemExit(f"login answered {answer.status}")
        for _ in range(300):  # the simulator links within a few seconds
            listed = await api.get(f"/api/v1/organizations/{org_id}/administration")
            if any(row["appliance_id"] == target_id for row in listed.json.get("appliances", [])):
                break
            await asyncio.sleep(0.1)
        entry = await ticket(api, org_id, target_id)
        direct_ms, tunnel_ms, direct_ws, tunnel_ws = await page_loads(
            f"http://127.0.0.1:{ui_port}", entry, tunnel_url, runs
        )
        progress("bulk download")
        cookie = await tunnel_cookie(await ticket(api, org_id, target_id), cafile)
        download_mbs = await download(tunnel_url, cookie, cafile, DOWNLOAD_BYTES)
        progress("ping latency, idle")
        idle = await ping_times(link, PINGS)
        progress(f"ping latency, {concurrent} concurrent tunnels")
        load_child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--load",
            tunnel_url,
            cookie,
            str(cafile),
            str(concurrent),
            stdout=asyncio.subprocess.PIPE,
        )
        assert load_child.stdout is not None
        await load_child.stdout.readline()
        waiting = asyncio.ensure_future(load_child.wait())
        loaded = await ping_times(link, PINGS * 10, until=waiting)
        await waiting
        link.stop()
        await linked
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    direct, tunnel = statistics.median(direct_ms), statistics.median(tunnel_ms)
    return {
        "load_average": os.getloadavg()[0],
        "runs": runs,
        "page_direct_ms": round(direct, 1),
        "page_tunnel_ms": round(tunnel, 1),
        "page_ratio": round(tunnel / direct, 2),
        "page_target": PAGE_TARGET,
        "download_mb_s": round(download_mbs, 1),
        "download_target": DOWNLOAD_TARGET,
        "websocket_direct_p50_ms": round(percentile(direct_ws, 50), 2),
        "websocket_direct_p99_ms": round(percentile(direct_ws, 99), 2),
        "websocket_tunnel_p50_ms": round(percentile(tunnel_ws, 50), 2),
        "websocket_tunnel_p99_ms": round(percentile(tunnel_ws, 99), 2),
        "websocket_target_p99_ms": WS_TARGET_MS,
        "concurrent_tunnels": concurrent,
        "ping_idle_p50_ms": round(percentile(idle, 50), 2),
        "ping_idle_p99_ms": round(percentile(idle, 99), 2),
        "ping_loaded_p50_ms": round(percentile(loaded, 50), 2) if loaded else None,
        "ping_loaded_p99_ms": round(percentile(loaded, 99), 2) if loaded else None,
        "ping_loaded_samples": len(loaded),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="page loads each way (default 10)")
    parser.add_argument("--concurrent", type=int, default=100, help="tunnels at once (100)")
    parser.add_argument("--load", nargs=4, metavar=("URL", "COOKIE", "CAFILE", "COUNT"))
    args = parser.parse_args()
    if args.load:
        url, cookie, cafile, count = args.load
        asyncio.run(load(url, cookie, cafile, int(count)))
        return
    result = asyncio.run(run(args.runs, args.concurrent))
    print(f"(load average {result['load_average']:.1f}; medians of {result['runs']} runs)")
    print(
        f"50-asset page   direct {result['page_direct_ms']} ms  tunnel {result['page_tunnel_ms']}"
        f" ms  ratio {result['page_ratio']}  (target ≤ {PAGE_TARGET})"
    )
    print(f"bulk download   {result['download_mb_s']} MB/s  (target ≥ {DOWNLOAD_TARGET})")
    print(
        f"websocket setup direct p50 {result['websocket_direct_p50_ms']} p99"
        f" {result['websocket_direct_p99_ms']} ms; tunnel p50 {result['websocket_tunnel_p50_ms']}"
        f" p99 {result['websocket_tunnel_p99_ms']} ms  (target p99 ≤ {WS_TARGET_MS})"
    )
    print(
        f"ping of another appliance  idle p50 {result['ping_idle_p50_ms']} p99"
        f" {result['ping_idle_p99_ms']} ms; with {result['concurrent_tunnels']} tunnels p50"
        f" {result['ping_loaded_p50_ms']} p99 {result['ping_loaded_p99_ms']} ms"
        f" ({result['ping_loaded_samples']} samples)"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
