"""Appliance benchmark: hub memory and idle CPU per linked appliance against a bare Tornado
websocket server holding as many sockets, and the latency from a knob flip to the dashboard.

Issue 5, item 10: connect N simulated appliances (N = 1,000, 10,000 and the most one process can
hold), report the hub's memory per appliance and idle CPU with pings on against a bare Tornado
websocket server holding the same N sockets with the same ping interval, measured in the same
run (ratio; target ≤ 1.5), and the p50/p99 latency from a status knob flip to the change arriving
on a dashboard websocket at N = 10,000 (target p99 ≤ 100 ms).

Every measured server runs in a subprocess of its own, started by this script, and is watched
from outside through /proc: RSS is VmRSS of /proc/PID/status, CPU is utime + stime of
/proc/PID/stat (all its threads), so the load generators' work never counts. All on loopback.
One hub, then one bare server, each grows through the sizes (1,000, then 9,000 more, ...) with a
measuring window at each size, rather than a fresh server per size: the smaller size's state is
part of the larger one's anyway, and pairing is what takes the time. In this order:

1. Hub (`python bench/appliances.py --hub DIR`): a real `web.hub.Hub` with the production
   configuration (the default TOML values: SQLite store, TLS with its self-signed ECDSA
   certificate, production Argon2id, `dev_mode` off) except a fresh temporary data directory and
   port 0; JSON logs at info level go to a file, as in production. Its soft RLIMIT_NOFILE is
   raised to the hard limit. One confirmed member is written straight to its store; this script
   logs in over the API (`http.client`, keep-alive), creates an organization and opens the
   member's dashboard websocket (`/api/v1/live?org=...`, kept open throughout).
   Idle: `IDLE_SECONDS` of samples with no appliance. Then, per size N, simulated appliances
   (`python -m mykerio.agent --count K ...`) print their "add this appliance" links until N
   are paired; each code is added with POST /api/v1/organizations/{org}/appliances by
   `ADD_WORKERS` concurrent clients, and the run waits until the dashboard websocket has
   reported all N connected and green. After `SETTLE_SECONDS` comes the window:
   `WINDOW_SECONDS` of samples, one a second.
2. Baseline (`python bench/appliances.py --bare-server CERT KEY`): a bare Tornado
   `WebSocketHandler` that ignores messages, over TLS with that hub's certificate and key,
   `websocket_ping_interval` = 30 s, its soft open-file limit raised too. Idle samples, then per
   size up to N websockets opened by `python bench/appliances.py --bare-clients URL CAFILE K C`
   processes (Tornado's websocket client, no protocol on top, at most `BARE_PER_PROCESS` each),
   then the same settle and window.
3. Latency, at N = `LATENCY_SIZE` only, after that window: `FLIPS` of its appliances run in the
   last simulator process with admin UIs (`--count 50 --ui-port 0`: with `--count`, port 0
   gives each appliance a free port, printed as `[i] Admin UI: URL`). One at a time,
   `FLIP_GAP_SECONDS` apart, this script POSTs `{"low_memory": true}` to an appliance's
   `/api/knobs` and times from just before the POST until the dashboard websocket delivers that
   appliance as yellow (Tornado's `on_message_callback` stamps the arrival); then the same
   back to `false` (green again: later sizes wait for all green), reported on a second row.
   Percentiles are by nearest rank: of 50 flips, p99 is the slowest.

Shutdown, after the last window (and the latency flips): the simulators are paused (SIGSTOP),
then the hub gets SIGTERM, and the time to its exit is reported against its 10 s shutdown
deadline. Real appliances are other machines, whose answers to the close frames and reconnect
attempts cost the hub nothing; here they would take the same 2 cores from the stopping hub.

Pings: the hub pings each appliance every 30 s (`mykerio.protocol.link.PING_INTERVAL`, a protocol
constant; the configuration has no knob for it, so the hub is not made to ping more often for the
benchmark), and the baseline pings each socket every 30 s too. A socket's ping timer starts when
it links, so with `WINDOW_SECONDS` = 30 s every socket of either server is pinged exactly once in
the window: the window's CPU is the steady state with pings on, and pings are its only traffic
(hub, protocol version 2 — the default, `--protocol 2`: a WebSocket ping frame and its pong, as
for the baseline; with `--protocol 1`: a JSON `ping` envelope and the appliance's `pong`; bare: a
ping frame and its pong).

Reported: memory per appliance = (median RSS in the window - median RSS idle) / N, the same per
bare socket, their ratio, and the marginal cost from one size to the next; CPU % of one core in
the window (and idle) for both, and their ratio. The hub's RSS includes whatever it keeps after
pairing N appliances over its API (CPython rarely hands freed memory back), as a real hub would.

Pairing pace. The simulator connects all its appliances at once, so each process is a connect
storm. On this 2-core machine, with adds going on, 2,500 per process stalled (113 of 2,500 codes
after 45 s: handshakes missed their 10 s deadline and were retried, again and again), and 1,000
per process with overlapping starts made the hub's gate fall 30 s behind (AskTimeout). So
processes hold at most `PER_PROCESS` and are started one after another, each once the one
before has shown `START_NEXT_AT` of its codes. Their state directories are on tmpfs (/dev/shm,
when there is one): the simulator fsyncs every state write, which otherwise made its start-up
and every welcome stall its loop. Pairing is bound by the hub's CPU (about 15 ms per
appliance), so pairing 10,000 takes about 3 minutes, and the whole run about 7.

Sizes: N = 1,000 and 10,000. The hard limit on open files here is 20,000 per process and cannot
be raised, so the most one hub can hold is about 19,000: `python bench/appliances.py --max` adds
N = that hard limit minus `MAX_HEADROOM` (19,000; the rest is for the store, the log, the
listener and the API connections), about 5 minutes more. Every wait has a timeout; every
subprocess gets a process group of its own and is stopped with it on any exit (SIGTERM, then
SIGKILL), and is set to die with this process (PR_SET_PDEATHSIG) should that be killed
outright. The parent prints the machine, the tables and the verdicts to stdout, progress to
stderr, and writes everything to bench/results/appliances.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import functools
import http.client
import itertools
import json
import math
import os
import platform
import re
import resource
import signal
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# `python bench/appliances.py` puts bench/ first on sys.path, where bench/actors.py would shadow
# the `actors` package: put the repository root there instead.
sys.path[:] = [entry for entry in sys.path if Path(entry or os.curdir).resolve() != BENCH_DIR]
sys.path.insert(0, str(REPO_ROOT))

# The project's modules are imported inside the functions that use them: the bare server and
# its clients must not load (or be slowed by) anything of the hub's.
import tornado.web  # noqa: E402
import tornado.websocket  # noqa: E402
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest  # noqa: E402
from tornado.httpserver import HTTPServer  # noqa: E402
from tornado.iostream import StreamClosedError  # noqa: E402
from tornado.netutil import bind_sockets  # noqa: E402

from bench.common import emit, percentile, progress  # noqa: E402

SIZES = (1_000, 10_000)
LATENCY_SIZE = 10_000
PER_PROCESS = 500
BARE_PER_PROCESS = 2_500
START_NEXT_AT = 0.9  # start the next simulator process once this share of codes is shown
FLIPS = 50
PING_INTERVAL = 30.0  # = mykerio.protocol.link.PING_INTERVAL, checked in the hub process
IDLE_SECONDS = 5.0
SETTLE_SECONDS = 5.0
WINDOW_SECONDS = 30.0
SAMPLE_SECONDS = 1.0
ADD_WORKERS = 8
FLIP_GAP_SECONDS = 0.1
MAX_HEADROOM = 1_000
PROBLEM_CHARS = 160
MEMORY_RATIO_TARGET = 1.5
LATENCY_TARGET_MS = 100.0
LOG_EVENTS = ("appliance waiting to be added", "appliance linked", "appliance refused")

READY_TIMEOUT = 60.0
HTTP_TIMEOUT = 30.0
CODES_TIMEOUT = 90.0  # one simulator process, start to START_NEXT_AT of its pairing codes
PAIR_TIMEOUT_BASE = 60.0  # plus PAIR_TIMEOUT_PER appliance: first code to all green
PAIR_TIMEOUT_PER = 0.02
OPEN_TIMEOUT_BASE = 30.0  # plus OPEN_TIMEOUT_PER socket: bare clients, start to all open
OPEN_TIMEOUT_PER = 0.01
CLIENT_OPEN_TIMEOUT = 600.0  # a bare-client process's own bound (the parent's is tighter)
FLIP_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0
HUB_STOP_TIMEOUT = 12.0  # the hub's own shutdown deadline is 10 s
RUN_TIMEOUT = 900.0  # the whole run; --max adds MAX_RUN_EXTRA
MAX_RUN_EXTRA = 600.0
CONNECT_CONCURRENCY = 100  # bare clients: sockets being opened at once, all processes together
CONNECT_ATTEMPTS = 5

RESULTS_PATH = BENCH_DIR / "results" / "appliances.json"
SCRIPT = Path(__file__).resolve()
# A tmpfs for the simulators' throwaway state (inside a fresh private temporary directory):
# there, the fsync of each of their state writes costs nothing and does not slow them down.
SHM = Path("/dev/shm")  # noqa: S108
CPUS = os.cpu_count() or 1
CLK_TCK = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1
MEMBER_EMAIL = "fleet@bench.example"
MEMBER_PASSWORD = "Bench-Harbour-Fleet-Tulip!"  # noqa: S105 - a made-up benchmark password
USER_AGENT = "mykerio-bench-appliances"
BARE_PATH = "/ws"
CODE_LINE = re.compile(r"^\[(\d+)\] MyKerio: .*#code=([A-Z0-9-]+)")
UI_LINE = re.compile(r"^\[(\d+)\] Admin UI: (\S+)")
READY_LINE = re.compile(r"^\[(\d+)\] MyKerio: Ready\.")
ANY_ID = re.compile(r"(?<=urn:uuid:)[0-9a-f-]{36}|\b[0-9a-f]{32}\b")


def raise_nofile_limit() -> tuple[int, int]:
    """Raise this process's soft limit on open files to the hard limit; (soft, hard) now."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard, hard


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    """A server TLS context like the hub's (`web.hub.tls_context`): TLS 1.2+, cert and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


async def wait_for_signal() -> None:
    """Return once SIGTERM or SIGINT arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


# --- /proc sampling ----------------------------------------------------------------------------


def read_proc(pid: int) -> tuple[int, int, int]:
    """(VmRSS bytes, VmHWM bytes, utime + stime in clock ticks) of process `pid`."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    after_name = stat[stat.rindex(")") + 2 :].split()
    # Fields 14 and 15 of proc(5); `after_name` starts at field 3.
    ticks = int(after_name[11]) + int(after_name[12])
    return fields["VmRSS"], fields["VmHWM"], ticks


def own_cpu_ticks() -> int:
    """utime + stime of this process, in clock ticks."""
    return read_proc(os.getpid())[2]


async def observe(pid: int, seconds: float) -> dict[str, Any]:
    """Sample process `pid` every `SAMPLE_SECONDS` for `seconds`: RSS and CPU over the span."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    rss, _, first_ticks = read_proc(pid)
    samples = [rss]
    due = started
    ticks = first_ticks
    peak = 0
    while due - started < seconds - 1e-6:
        due += SAMPLE_SECONDS
        await asyncio.sleep(max(0.0, due - loop.time()))
        rss, peak, ticks = read_proc(pid)
        samples.append(rss)
    elapsed = loop.time() - started
    cpu_seconds = (ticks - first_ticks) / CLK_TCK
    return {
        "seconds": elapsed,
        "samples": len(samples),
        "rss_median_bytes": statistics.median(samples),
        "rss_min_bytes": min(samples),
        "rss_max_bytes": max(samples),
        "rss_peak_bytes": peak,
        "cpu_seconds": cpu_seconds,
        "cpu_percent": cpu_seconds / elapsed * 100,
    }


# --- subprocesses ------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In a child, before exec: be killed when the benchmark process dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Child:
    """A subprocess of the run: its process, name, stderr file and the task draining stdout."""

    process: asyncio.subprocess.Process
    name: str
    stderr_path: Path
    reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        """The process id (also its process group id)."""
        return self.process.pid

    def stderr_tail(self, lines: int = 10) -> str:
        """The last lines the process wrote to stderr."""
        try:
            text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


class Children:
    """Every subprocess the run started, each in its own process group, to end them all."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[Child] = []

    async def start(self, name: str, *args: str) -> Child:
        """Start `args` in a new session (process group); stdout piped, stderr to a file."""
        stderr_path = self.logs / f"{name}.stderr"
        with stderr_path.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *args,
                cwd=REPO_ROOT,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
                preexec_fn=_die_with_parent,
                limit=2**20,
            )
        child = Child(process, name, stderr_path)
        self.running.append(child)
        return child

    async def stop(self, child: Child, timeout: float = STOP_TIMEOUT) -> float:
        """SIGTERM the child's group, SIGKILL it after `timeout`; seconds it took to exit."""
        started = time.perf_counter()
        if child.process.returncode is None:
            _signal_group(child.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(child.process.wait(), timeout)
            except TimeoutError:
                progress(f"  {child.name} did not stop in {timeout:.0f} s: killed")
                _signal_group(child.pid, signal.SIGKILL)
                await asyncio.wait_for(child.process.wait(), timeout)
        _signal_group(child.pid, signal.SIGKILL)  # anything it left in its group
        if child.reader is not None:
            child.reader.cancel()
            await asyncio.gather(child.reader, return_exceptions=True)
        if child in self.running:
            self.running.remove(child)
        return time.perf_counter() - started

    async def stop_all(self, children: Sequence[Child] | None = None) -> None:
        """Stop `children` (default: every one still running) concurrently."""
        chosen = list(self.running if children is None else children)
        await asyncio.gather(*(self.stop(child) for child in chosen), return_exceptions=True)

    def kill_all(self) -> None:
        """SIGKILL every process group still known (last resort, synchronous)."""
        for child in self.running:
            _signal_group(child.pid, signal.SIGKILL)
        self.running.clear()


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


async def next_event(child: Child, timeout: float) -> dict[str, Any]:
    """The next JSON line the child prints (other lines are skipped); fails if it exits."""
    assert child.process.stdout is not None
    async with asyncio.timeout(timeout):
        while True:
            line = await child.process.stdout.readline()
            if not line:
                await child.process.wait()
                raise RuntimeError(
                    f"{child.name} exited ({child.process.returncode}):\n{child.stderr_tail()}"
                )
            if line.startswith(b"{"):
                event: dict[str, Any] = json.loads(line)
                return event


def drain(child: Child, on_line: Callable[[str], None] | None = None) -> None:
    """Read the child's stdout until it ends (a full pipe would block it), line by line."""

    async def read() -> None:
        assert child.process.stdout is not None
        while line := await child.process.stdout.readline():
            if on_line is not None:
                on_line(line.decode("utf-8", errors="replace"))

    child.reader = asyncio.create_task(read(), name=f"drain-{child.name}")


def split(total: int, per_process: int) -> list[int]:
    """`total` spread as evenly as possible over processes of at most `per_process` each."""
    if total <= 0:
        return []
    processes = math.ceil(total / per_process)
    base, extra = divmod(total, processes)
    return [base + (1 if index < extra else 0) for index in range(processes)]


# --- the hub subprocess (`--hub DIR`) ----------------------------------------------------------


async def serve_hub(workdir: Path) -> None:
    """Start a production-configured hub, add the member, say where it is; serve until SIGTERM."""
    import dataclasses

    from mykerio.config import load_config
    from mykerio.models import User, new_id
    from mykerio.protocol.link import PING_INTERVAL as HUB_PING_INTERVAL
    from mykerio.security.passwords import PRODUCTION_PARAMETERS, PasswordHasher
    from web.hub import Hub

    if HUB_PING_INTERVAL != PING_INTERVAL:
        raise RuntimeError(f"the hub pings every {HUB_PING_INTERVAL} s, the baseline would not")
    data_dir = workdir / "data"
    config = load_config(overrides={"server.port": 0, "hub.data_dir": str(data_dir)})
    hub = Hub(config)
    await hub.start()
    try:
        assert hub.store is not None
        parameters = dataclasses.replace(
            PRODUCTION_PARAMETERS,
            time_cost=config.accounts.password_hash_iterations,
            memory_cost=config.accounts.password_hash_memory_kib,
        )
        password_hash = await asyncio.to_thread(PasswordHasher(parameters).hash, MEMBER_PASSWORD)
        now = datetime.now(UTC)
        await hub.store.users.add(
            User(
                id=new_id(),
                email=MEMBER_EMAIL,
                full_name="Bench Fleet Owner",
                password_hash=password_hash,
                created_at=now,
                confirmed_at=now,
                password_changed_at=now,
            )
        )
        tls = data_dir / "tls"
        emit(
            {
                "event": "ready",
                "url": hub.url,
                "cert": str(tls / "cert.pem"),
                "key": str(tls / "key.pem"),
                "nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
                "store": hub.store.kind,
                "dev_mode": config.hub.dev_mode,
                "ask_timeout": config.actors.ask_timeout,
            }
        )
        await wait_for_signal()
    finally:
        await hub.stop(deadline=10.0)


def run_hub_process(workdir: Path) -> None:
    """The `--hub` subprocess: JSON info logs to DIR/hub.log, as in production, and serve."""
    from mykerio.logs import configure_logging

    raise_nofile_limit()
    with (workdir / "hub.log").open("w", encoding="utf-8") as log_stream:
        configure_logging("json", "info", stream=log_stream)
        asyncio.run(serve_hub(workdir))


# --- the bare Tornado baseline (`--bare-server`, `--bare-clients`) -----------------------------


class BareSocket(tornado.websocket.WebSocketHandler):
    """A websocket that holds its connection and ignores what it is sent."""

    def check_origin(self, origin: str) -> bool:
        """Any origin (the clients are not browsers)."""
        return True

    def on_message(self, message: str | bytes) -> None:
        """Nothing to do."""


async def serve_bare(cert: Path, key: Path) -> None:
    """Serve `BareSocket` over TLS on a free loopback port until SIGTERM."""
    app = tornado.web.Application([(BARE_PATH, BareSocket)], websocket_ping_interval=PING_INTERVAL)
    server = HTTPServer(app, ssl_options=server_tls(cert, key))
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    port = int(sockets[0].getsockname()[1])
    emit({"event": "ready", "port": port, "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)})
    await wait_for_signal()
    server.stop()


def run_bare_server(cert: Path, key: Path) -> None:
    """The `--bare-server` subprocess."""
    raise_nofile_limit()
    asyncio.run(serve_bare(cert, key))


async def hold_bare_sockets(url: str, cafile: Path, count: int, concurrency: int) -> None:
    """Open `count` websockets to `url` (`concurrency` at a time), report, hold them."""
    context = ssl.create_default_context(cafile=str(cafile))
    gate = asyncio.Semaphore(concurrency)
    held: list[tornado.websocket.WebSocketClientConnection] = []
    holding = False

    def on_message(message: str | bytes | None) -> None:
        if message is None and holding:
            emit({"event": "closed"})

    async def open_one() -> None:
        error: BaseException | None = None
        for _ in range(CONNECT_ATTEMPTS):
            async with gate:
                request = HTTPRequest(
                    url, ssl_options=context, connect_timeout=20, request_timeout=20
                )
                try:
                    held.append(
                        await tornado.websocket.websocket_connect(
                            request, on_message_callback=on_message
                        )
                    )
                    return
                except (OSError, HTTPClientError, StreamClosedError) as exc:
                    error = exc
            await asyncio.sleep(1.0)
        raise RuntimeError(f"cannot open a websocket: {error!r}")

    started = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(open_one() for _ in range(count))), timeout=CLIENT_OPEN_TIMEOUT
    )
    holding = True
    emit({"event": "open", "count": len(held), "seconds": time.perf_counter() - started})
    await wait_for_signal()
    holding = False
    for connection in held:
        connection.close()


def run_bare_clients(url: str, cafile: Path, count: int, concurrency: int) -> None:
    """The `--bare-clients` subprocess."""
    raise_nofile_limit()
    asyncio.run(hold_bare_sockets(url, cafile, count, concurrency))


# --- the member's API session and dashboard websocket ------------------------------------------


class HubApi:
    """A member's HTTPS session with the hub: cookies, the CSRF token, and one keep-alive
    `http.client` connection per calling thread. Blocking: call it from a thread pool."""

    def __init__(self, url: str, cafile: Path) -> None:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"not a URL with a host and port: {url}")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port
        self.context = ssl.create_default_context(cafile=str(cafile))
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[http.client.HTTPSConnection] = []

    def _connection(self) -> http.client.HTTPSConnection:
        connection: http.client.HTTPSConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPSConnection(
                self.host, self.port, context=self.context, timeout=HTTP_TIMEOUT
            )
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def cookie_header(self) -> str:
        """The jar as a Cookie header."""
        with self._lock:
            return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one request on this thread's connection; (status, JSON body or {})."""
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        cookies = self.cookie_header()
        if cookies:
            headers["Cookie"] = cookies
        data = None
        if method != "GET":
            headers["X-XSRFToken"] = self.csrf
            headers["Content-Type"] = "application/json"
            data = json.dumps(body if body is not None else {}).encode()
        connection = self._connection()
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            self._local.connection = None
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            with self._lock:
                for name, morsel in jar.items():
                    if morsel.value and morsel["max-age"] != "0":
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)
        try:
            document = json.loads(raw) if raw else {}
        except ValueError:
            document = {"raw": raw[:300].decode("utf-8", errors="replace")}
        return response.status, document

    def log_in(self, email: str, password: str) -> None:
        """Fetch a CSRF token and log in (no second factor on the bench member)."""
        status, body = self.request("GET", "/api/v1/csrf")
        if status != 200:
            raise RuntimeError(f"CSRF token: {status} {body}")
        self.csrf = str(body["csrf_token"])
        payload = {"email": email, "password": password, "keep_logged_in": False}
        status, body = self.request("POST", "/api/v1/sessions", payload)
        if status != 200 or body.get("status") != "logged_in":
            raise RuntimeError(f"login: {status} {body}")

    def create_organization(self, name: str) -> str:
        """Create an organization the member belongs to; its id."""
        status, body = self.request("POST", "/api/v1/organizations", {"name": name})
        if status != 201:
            raise RuntimeError(f"create organization: {status} {body}")
        return str(body["id"])

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()


class Dashboard:
    """The member's live dashboard websocket: the last view of every appliance, which ones are
    connected and green, and futures for "this appliance arrived with this status"."""

    def __init__(self) -> None:
        self.views: dict[str, dict[str, Any]] = {}
        self.green: set[str] = set()
        self.messages = 0
        self.closed = False
        self.changed = asyncio.Event()
        self._expected: list[tuple[str, str, asyncio.Future[float]]] = []
        self._hello: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._socket: tornado.websocket.WebSocketClientConnection | None = None

    async def open(self, api: HubApi, org_id: str) -> None:
        """Connect with the member's session cookie and wait for the hub's hello."""
        request = HTTPRequest(
            api.url.replace("https://", "wss://") + f"/api/v1/live?org={org_id}",
            headers={"Cookie": api.cookie_header(), "Origin": api.url},
            ssl_options=api.context,
            connect_timeout=HTTP_TIMEOUT,
            request_timeout=HTTP_TIMEOUT,
        )
        self._socket = await tornado.websocket.websocket_connect(
            request, on_message_callback=self._on_message
        )
        await asyncio.wait_for(self._hello, HTTP_TIMEOUT)

    def close(self) -> None:
        """Close the socket."""
        if self._socket is not None:
            self._socket.close()

    def expect(self, appliance_id: str, status: str) -> asyncio.Future[float]:
        """A future set to the `perf_counter` at which `appliance_id` arrives as `status`."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._expected.append((appliance_id, status, future))
        return future

    def _on_message(self, message: str | bytes | None) -> None:
        arrived = time.perf_counter()
        if message is None:
            self.closed = True
            self.changed.set()
            return
        self.messages += 1
        document = json.loads(message)
        kind = document.get("type")
        if kind == "hello" and not self._hello.done():
            self._hello.set_result(None)
        elif kind == "appliance":
            view = document["appliance"]
            appliance_id = str(view["id"])
            self.views[appliance_id] = view
            if view["connected"] and view["status"] == "green":
                self.green.add(appliance_id)
            else:
                self.green.discard(appliance_id)
            for expected in list(self._expected):
                wanted_id, wanted_status, future = expected
                if wanted_id == appliance_id and view["status"] == wanted_status:
                    if not future.done():
                        future.set_result(arrived)
                    self._expected.remove(expected)
        elif kind == "appliance_removed":
            self.views.pop(str(document["id"]), None)
            self.green.discard(str(document["id"]))
        self.changed.set()


# --- pairing a fleet ---------------------------------------------------------------------------


@dataclass
class Fleet:
    """What the simulator processes of one hub run showed, and what was added."""

    codes: dict[str, str] = field(default_factory=dict)  # "fleet/index" -> latest code
    codes_per_process: dict[int, int] = field(default_factory=dict)
    ready: int = 0
    added: dict[str, str] = field(default_factory=dict)  # "fleet/index" -> appliance id
    ui_urls: dict[int, str] = field(default_factory=dict)
    processes: int = 0
    protocol: int = 2  # the newest protocol version the simulators speak (`--protocol`)
    add_failures: list[str] = field(default_factory=list)
    add_retries: int = 0  # adds sent again after their connection broke
    first_code_at: float | None = None
    queue: asyncio.Queue[tuple[str, str]] = field(default_factory=asyncio.Queue)
    code_seen: asyncio.Event = field(default_factory=asyncio.Event)

    def on_line(self, process: int, line: str, *, ui: bool) -> None:
        """Note a simulator's output line: a pairing code, its admin UI, or "Ready"."""
        if (found := CODE_LINE.search(line)) is not None:
            key = f"{process}/{found.group(1)}"
            if key not in self.codes:
                self.codes_per_process[process] = self.codes_per_process.get(process, 0) + 1
            self.codes[key] = found.group(2)
            if self.first_code_at is None:
                self.first_code_at = time.perf_counter()
            if key not in self.added:
                self.queue.put_nowait((key, found.group(2)))
            self.code_seen.set()
        elif ui and (found := UI_LINE.search(line)) is not None:
            self.ui_urls[int(found.group(1))] = found.group(2)
        elif READY_LINE.search(line) is not None:
            self.ready += 1

    def has_codes(self, process: int, at_least: float) -> bool:
        """Whether simulator process `process` has shown `at_least` pairing codes."""
        return self.codes_per_process.get(process, 0) >= at_least

    async def add_codes(self, api: HubApi, org_id: str, pool: ThreadPoolExecutor) -> None:
        """One adder: POST each queued code (unless its appliance was added meanwhile)."""
        loop = asyncio.get_running_loop()
        path = f"/api/v1/organizations/{org_id}/appliances"
        while True:
            key, code = await self.queue.get()
            if key in self.added:
                continue
            body = {"code": code, "name": f"box-{key.replace('/', '-')}"}
            try:
                status, answer = await loop.run_in_executor(pool, api.request, "POST", path, body)
            except (OSError, http.client.HTTPException):
                # A kept-alive connection the hub had closed (idle timeout) fails on reuse
                # before the request reaches it: the next try opens a new one.
                self.add_retries += 1
                self.queue.put_nowait((key, code))
                continue
            if status == 201:
                self.added[key] = str(answer["id"])
            elif self.codes.get(key) == code:  # a newer code would be queued already
                self.add_failures.append(f"{key}: {status} {answer}")


async def wait_until(
    condition: Callable[[], bool],
    changed: asyncio.Event,
    timeout: float,
    what: str,
    report: Callable[[], str],
) -> None:
    """Wait until `condition()` holds, re-checking when `changed` is set; a progress line every
    5 s; `TimeoutError` naming `what` after `timeout` seconds."""
    started = time.perf_counter()
    last_report = started
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 1.0)
                if time.perf_counter() - last_report >= 5.0:
                    last_report = time.perf_counter()
                    progress(f"    {time.perf_counter() - started:5.0f} s: {report()}")
    except TimeoutError:
        raise TimeoutError(f"{what}: not done in {timeout:.0f} s ({report()})") from None


async def start_fleet(
    children: Children,
    fleet: Fleet,
    hub_url: str,
    cafile: Path,
    state: Path,
    plan: Sequence[tuple[int, bool]],
) -> list[Child]:
    """Start simulator processes for `plan` ((appliances, with admin UIs) each) one by one, each
    once the previous one has shown `START_NEXT_AT` of its pairing codes."""
    processes: list[Child] = []
    for count, ui in plan:
        number = fleet.processes
        fleet.processes += 1
        args = [sys.executable, "-m", "mykerio.agent", "--count", str(count), "--hub", hub_url]
        args += ["--state", str(state / f"fleet-{number}"), "--cafile", str(cafile)]
        args += ["--protocol", str(fleet.protocol)]
        if ui:
            args += ["--ui-port", "0"]
        child = await children.start(f"simulator-{number}", *args)
        processes.append(child)
        drain(child, functools.partial(fleet.on_line, number, ui=ui))
        await wait_until(
            functools.partial(fleet.has_codes, number, count * START_NEXT_AT),
            fleet.code_seen,
            CODES_TIMEOUT,
            f"pairing codes of simulator process {number}",
            lambda: f"{len(fleet.codes):,} codes, {len(fleet.added):,} added",
        )
        if child.process.returncode is not None:
            raise RuntimeError(f"{child.name} exited:\n{child.stderr_tail()}")
    return processes


# --- one hub case ------------------------------------------------------------------------------


async def linked_targets(ui_urls: Sequence[str]) -> list[tuple[str, str]]:
    """(admin UI URL, appliance id) of each appliance, which must be linked."""
    client = AsyncHTTPClient()
    targets: list[tuple[str, str]] = []
    for url in ui_urls:
        response = await client.fetch(url + "api/state", request_timeout=HTTP_TIMEOUT)
        state = json.loads(response.body)
        if state["phase"] != "linked" or not state["appliance_id"]:
            raise RuntimeError(f"the appliance at {url} is not linked: {state['status_text']}")
        targets.append((url, str(state["appliance_id"])))
    return targets


async def flip_knobs(
    dashboard: Dashboard, targets: Sequence[tuple[str, str]], *, on: bool
) -> list[dict[str, float]]:
    """Set `low_memory` to `on` on each appliance's admin UI, one at a time; time each until
    the dashboard shows it yellow (on) or green again (off), and until the POST's answer."""
    client = AsyncHTTPClient()
    flips: list[dict[str, float]] = []
    for url, appliance_id in targets:
        arrival = dashboard.expect(appliance_id, "yellow" if on else "green")
        started = time.perf_counter()
        await client.fetch(
            url + "api/knobs",
            method="POST",
            body=json.dumps({"low_memory": on}),
            headers={"Content-Type": "application/json"},
            request_timeout=FLIP_TIMEOUT,
        )
        answered = time.perf_counter()
        arrived = await asyncio.wait_for(arrival, FLIP_TIMEOUT)
        flips.append(
            {"latency_ms": (arrived - started) * 1e3, "post_ms": (answered - started) * 1e3}
        )
        await asyncio.sleep(FLIP_GAP_SECONDS)
    return flips


def log_lines(log_file: Path) -> list[str]:
    """The hub log's lines (none if there is no log)."""
    try:
        return log_file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []


def problems(lines: Sequence[str]) -> dict[str, int]:
    """The warning and error lines among `lines`, counted by level, event and exception."""
    counts: dict[str, int] = {}
    for line in lines:
        if '"level": "error"' not in line and '"level": "warning"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            key = line[:PROBLEM_CHARS]
        else:
            event = (str(record.get("event", "")).splitlines() or [""])[0][:PROBLEM_CHARS]
            key = f"{record.get('level')}: {event}"
            exception = record.get("exception")
            if isinstance(exception, list) and exception and isinstance(exception[-1], dict):
                raised = exception[-1]
                key += f" ({raised.get('exc_type')}: {str(raised.get('exc_value'))[:100]})"
        key = ANY_ID.sub("…", key)  # one line per kind of problem, not per actor
        counts[key] = counts.get(key, 0) + 1
    return counts


def log_events(lines: Sequence[str], events: Sequence[str]) -> dict[str, int]:
    """How many log lines carry each of `events`."""
    return {event: sum(1 for line in lines if f'"event": "{event}"' in line) for event in events}


async def pair_up_to(
    n: int,
    hub: Child,
    fleet: Fleet,
    dashboard: Dashboard,
    children: Children,
    simulators: list[Child],
    setting: tuple[str, Path, Path],
) -> dict[str, Any]:
    """Add simulator processes until `n` appliances are paired and the dashboard shows them all
    green (the last process runs `FLIPS` of them with admin UIs when `n` is `LATENCY_SIZE`);
    the step's timings and CPU use. `setting` is (hub URL, CA file, state directory)."""
    hub_url, cafile, state = setting
    ui_count = FLIPS if n == LATENCY_SIZE else 0
    counts = split(n - len(fleet.added) - ui_count, PER_PROCESS)
    plan = [(count, False) for count in counts] + ([(ui_count, True)] if ui_count else [])
    progress(
        f"  pairing {n - len(fleet.added):,} more appliances ({len(counts)} simulator processes"
        f" of ~{counts[0]}{f' + {ui_count} with admin UIs' if ui_count else ''}) ..."
    )
    started = time.perf_counter()
    hub_ticks = read_proc(hub.pid)[2]
    own_ticks = own_cpu_ticks()
    added_before = len(fleet.added)
    fleet.first_code_at = None
    step = await start_fleet(children, fleet, hub_url, cafile, state, plan)
    simulators.extend(step)

    def report() -> str:
        return (
            f"{len(fleet.codes):,} codes, {len(fleet.added):,} added, "
            f"{len(dashboard.green):,} green, {len(fleet.add_failures)} add failures"
        )

    await wait_until(
        lambda: len(dashboard.green) >= n or dashboard.closed,
        dashboard.changed,
        PAIR_TIMEOUT_BASE + PAIR_TIMEOUT_PER * n,
        f"{n:,} appliances green",
        report,
    )
    if dashboard.closed:
        raise RuntimeError("the dashboard websocket closed")
    seconds = time.perf_counter() - started
    assert fleet.first_code_at is not None
    hub_cpu = (read_proc(hub.pid)[2] - hub_ticks) / CLK_TCK
    simulators_cpu = sum(read_proc(child.pid)[2] for child in step) / CLK_TCK
    progress(f"  all {n:,} green, {seconds:.1f} s for this step")
    return {
        "simulator_processes": [count for count, _ in plan],
        "seconds_start_to_all_green": seconds,
        "seconds_first_code_to_all_green": time.perf_counter() - fleet.first_code_at,
        "paired": len(fleet.added) - added_before,
        "cpu_seconds_hub": hub_cpu,
        "cpu_percent_hub": hub_cpu / seconds * 100,
        "cpu_percent_simulators": simulators_cpu / seconds * 100,
        "cpu_percent_bench": (own_cpu_ticks() - own_ticks) / CLK_TCK / seconds * 100,
        "add_failure_count": len(fleet.add_failures),
        "dashboard_messages": dashboard.messages,
    }


async def run_hub(
    sizes: Sequence[int],
    workdir: Path,
    state: Path,
    children: Children,
    out: dict[str, Any],
    protocol: int = 2,
) -> None:
    """Run one hub, measure it idle, then grow its fleet through `sizes`, measuring a window at
    each (and the knob latency at `LATENCY_SIZE`); results go into `out` as they come."""
    await asyncio.to_thread(workdir.mkdir, parents=True)
    hub = await children.start("hub", sys.executable, str(SCRIPT), "--hub", str(workdir))
    simulators: list[Child] = []
    api: HubApi | None = None
    dashboard: Dashboard | None = None
    pool = ThreadPoolExecutor(max_workers=ADD_WORKERS, thread_name_prefix="bench-add")
    adders: list[asyncio.Task[None]] = []
    logged_before_stop = 0
    try:
        ready = await next_event(hub, READY_TIMEOUT)
        drain(hub)
        out["hub"] = {key: ready[key] for key in ("url", "nofile", "store", "dev_mode")}
        out["cert"], out["key"] = ready["cert"], ready["key"]
        cafile = Path(ready["cert"])
        api = HubApi(ready["url"], cafile)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(pool, api.log_in, MEMBER_EMAIL, MEMBER_PASSWORD)
        org_id = await loop.run_in_executor(pool, api.create_organization, "Bench fleet")
        dashboard = Dashboard()
        await dashboard.open(api, org_id)
        progress(f"  hub {ready['url']} (pid {hub.pid}): idle {IDLE_SECONDS:.0f} s ...")
        out["idle"] = await observe(hub.pid, IDLE_SECONDS)
        fleet = Fleet(protocol=protocol)
        adders = [
            asyncio.create_task(fleet.add_codes(api, org_id, pool)) for _ in range(ADD_WORKERS)
        ]
        out["steps"] = []
        for n in sizes:
            setting = (str(ready["url"]), cafile, state)
            pairing = await pair_up_to(n, hub, fleet, dashboard, children, simulators, setting)
            step: dict[str, Any] = {"n": n, "pairing": pairing}
            out["steps"].append(step)
            progress(f"  settle {SETTLE_SECONDS:.0f} s, then the {WINDOW_SECONDS:.0f} s window ...")
            await asyncio.sleep(SETTLE_SECONDS)
            step["window"] = await observe(hub.pid, WINDOW_SECONDS)
            step["window"]["still_green"] = len(dashboard.green)
            step["window"]["simulators_running"] = sum(
                1 for child in simulators if child.process.returncode is None
            )
            if n == LATENCY_SIZE:
                urls = [fleet.ui_urls[index] for index in sorted(fleet.ui_urls)]
                progress(f"  flipping a knob on {len(urls)} appliances, one at a time ...")
                targets = await linked_targets(urls)
                step["flips"] = await flip_knobs(dashboard, targets, on=True)
                progress("  and back off (green again) ...")
                step["flips_back"] = await flip_knobs(dashboard, targets, on=False)
        out["add_failures"] = fleet.add_failures[:20]
    finally:
        for task in adders:
            task.cancel()
        await asyncio.gather(*adders, return_exceptions=True)
        if dashboard is not None:
            dashboard.close()
        logged_before_stop = len(log_lines(workdir / "hub.log"))
        # Real appliances are other machines: their answers to the hub's close frames and their
        # reconnect attempts cost the hub no CPU. Here they would take the same 2 cores from
        # the stopping hub, so they are paused while it stops, and ended after.
        for simulator in simulators:
            _signal_group(simulator.pid, signal.SIGSTOP)
        out["stop_seconds"] = await children.stop(hub, HUB_STOP_TIMEOUT)
        out["stop_killed"] = out["stop_seconds"] > HUB_STOP_TIMEOUT
        for simulator in simulators:
            _signal_group(simulator.pid, signal.SIGCONT)
        await children.stop_all(simulators)
        if api is not None:
            api.close()
        pool.shutdown(wait=False, cancel_futures=True)
        lines = log_lines(workdir / "hub.log")
        out["log_problems"] = problems(lines[:logged_before_stop])
        out["log_problems_at_stop"] = problems(lines[logged_before_stop:])
        out["log_events"] = log_events(lines[:logged_before_stop], LOG_EVENTS)


async def run_bare(
    sizes: Sequence[int], cert: Path, key: Path, children: Children, out: dict[str, Any]
) -> None:
    """Run the bare server, measure it idle, then grow its sockets through `sizes`, measuring
    a window at each; results go into `out` as they come."""
    server = await children.start(
        "bare-server", sys.executable, str(SCRIPT), "--bare-server", str(cert), str(key)
    )
    clients: list[Child] = []
    closed = [0]

    def on_line(line: str) -> None:
        if line.startswith('{"event":"closed"'):
            closed[0] += 1

    try:
        ready = await next_event(server, READY_TIMEOUT)
        drain(server)
        url = f"wss://localhost:{ready['port']}{BARE_PATH}"
        out["server"] = {"url": url, "nofile": ready["nofile"]}
        progress(f"  bare Tornado {url} (pid {server.pid}): idle {IDLE_SECONDS:.0f} s ...")
        out["idle"] = await observe(server.pid, IDLE_SECONDS)
        out["steps"] = []
        held = 0
        for n in sizes:
            counts = split(n - held, BARE_PER_PROCESS)
            concurrency = max(1, CONNECT_CONCURRENCY // len(counts))
            progress(f"  opening {n - held:,} more websockets from {len(counts)} processes ...")
            started = time.perf_counter()
            step_clients = [
                await children.start(
                    f"bare-clients-{len(clients) + number}",
                    sys.executable,
                    str(SCRIPT),
                    "--bare-clients",
                    url,
                    str(cert),
                    str(count),
                    str(concurrency),
                )
                for number, count in enumerate(counts)
            ]
            clients.extend(step_clients)
            deadline = OPEN_TIMEOUT_BASE + OPEN_TIMEOUT_PER * (n - held)
            async with asyncio.timeout(deadline):
                for child, count in zip(step_clients, counts, strict=True):
                    opened = await next_event(child, deadline)
                    if opened.get("event") != "open" or opened.get("count") != count:
                        raise RuntimeError(f"{child.name}: {opened}")
                    drain(child, on_line)
            held = n
            step: dict[str, Any] = {
                "n": n,
                "connect": {
                    "client_processes": counts,
                    "seconds_to_all_open": time.perf_counter() - started,
                },
            }
            out["steps"].append(step)
            progress(f"  all {n:,} open; settle {SETTLE_SECONDS:.0f} s, then the window ...")
            await asyncio.sleep(SETTLE_SECONDS)
            step["window"] = await observe(server.pid, WINDOW_SECONDS)
            step["window"]["closed_so_far"] = closed[0]
    finally:
        out["stop_seconds"] = await children.stop(server)
        await children.stop_all(clients)


# --- the report --------------------------------------------------------------------------------


def process_counts(counts: Sequence[int]) -> str:
    """Simulator processes in short: "19 x 497-498 + 50", the admin-UI process last."""
    fleet = list(counts)
    ui = ""
    if len(fleet) > 1 and fleet[-1] == FLIPS and fleet[-1] < min(fleet[:-1]):
        ui = f" + {fleet.pop()}"
    low, high = min(fleet), max(fleet)
    return f"{len(fleet)} x {low}{'' if low == high else f'-{high}'}{ui}"


def sizes_max(hub: dict[str, Any]) -> str:
    """The largest N the hub reached, as text."""
    steps = hub.get("steps", [])
    return f"{max((step['n'] for step in steps), default=0):,}" if steps else "its"


def mib(value: float) -> str:
    """Bytes as MiB."""
    return f"{value / 2**20:,.1f}"


def per_unit_kib(case: dict[str, Any]) -> float:
    """(median RSS over the window - median RSS idle) / N, in KiB."""
    delta = case["window"]["rss_median_bytes"] - case["idle"]["rss_median_bytes"]
    return float(delta / case["n"] / 1024)


def summarise(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per N: memory per appliance and per socket, their ratio, CPU of both, the verdicts."""
    rows = []
    for case in cases:
        hub, bare = case["hub"], case["bare"]
        hub_kib, bare_kib = per_unit_kib(hub), per_unit_kib(bare)
        hub_cpu, bare_cpu = hub["window"]["cpu_percent"], bare["window"]["cpu_percent"]
        ratio = hub_kib / bare_kib if bare_kib > 0 else math.nan
        rows.append(
            {
                "n": case["n"],
                "hub_kib_per_appliance": hub_kib,
                "bare_kib_per_socket": bare_kib,
                "memory_ratio": ratio,
                "memory_target_met": ratio <= MEMORY_RATIO_TARGET,
                "hub_cpu_percent": hub_cpu,
                "bare_cpu_percent": bare_cpu,
                "cpu_ratio": hub_cpu / bare_cpu if bare_cpu > 0 else math.nan,
                "hub_cpu_ms_per_appliance_round": per_round_ms(hub),
                "bare_cpu_ms_per_socket_round": per_round_ms(bare),
            }
        )
    return rows


def per_round_ms(case: dict[str, Any]) -> float:
    """CPU ms per appliance (socket) in the window, which holds one ping round, above idle."""
    window, idle = case["window"], case["idle"]
    above_idle = window["cpu_seconds"] - idle["cpu_percent"] / 100 * window["seconds"]
    return float(above_idle / case["n"] * 1e3)


def marginal(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Between consecutive sizes: RSS growth per extra appliance and per extra bare socket, KiB
    (what the fixed costs folded into the smaller N's per-appliance figure do not touch)."""
    steps = []
    for small, large in itertools.pairwise(cases):
        extra = large["n"] - small["n"]
        grown = {
            part: (
                large[part]["window"]["rss_median_bytes"]
                - small[part]["window"]["rss_median_bytes"]
            )
            / extra
            / 1024
            for part in ("hub", "bare")
        }
        steps.append(
            {
                "from_n": small["n"],
                "to_n": large["n"],
                "hub_kib_per_appliance": grown["hub"],
                "bare_kib_per_socket": grown["bare"],
                "memory_ratio": grown["hub"] / grown["bare"] if grown["bare"] > 0 else math.nan,
            }
        )
    return steps


def latency_summary(flips: list[dict[str, float]]) -> dict[str, Any]:
    """p50/p90/p99/max of the flips' latencies, and the POST's own time."""
    latencies = [flip["latency_ms"] for flip in flips]
    posts = [flip["post_ms"] for flip in flips]
    p99 = percentile(latencies, 99)
    return {
        "flips": len(flips),
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": p99,
        "max_ms": max(latencies),
        "post_p50_ms": percentile(posts, 50),
        "target_ms": LATENCY_TARGET_MS,
        "target_met": p99 <= LATENCY_TARGET_MS,
    }


def fmt(value: float, spec: str) -> str:
    """Format a number with `spec`, or "—" when it is not a number."""
    return "—" if value != value else format(value, spec)


def report(
    cases: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    steps: list[dict[str, Any]],
    latency: dict[str, Any],
    latency_back: dict[str, Any],
) -> None:
    """Print the memory, CPU, set-up and latency tables and the verdicts."""
    print()
    print(
        "| N | hub idle (MiB) | hub, N linked (MiB) | hub per appliance (KiB) "
        "| bare idle (MiB) | bare, N sockets (MiB) | bare per socket (KiB) "
        f"| ratio (target ≤ {MEMORY_RATIO_TARGET}) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case, row in zip(cases, rows, strict=True):
        hub, bare = case["hub"], case["bare"]
        print(
            f"| {case['n']:,} | {mib(hub['idle']['rss_median_bytes'])} "
            f"| {mib(hub['window']['rss_median_bytes'])} | {row['hub_kib_per_appliance']:.1f} "
            f"| {mib(bare['idle']['rss_median_bytes'])} "
            f"| {mib(bare['window']['rss_median_bytes'])} | {row['bare_kib_per_socket']:.1f} "
            f"| {fmt(row['memory_ratio'], '.2f')} |"
        )
    for step in steps:
        print(
            f"| {step['from_n']:,} → {step['to_n']:,}, per extra one | | "
            f"| {step['hub_kib_per_appliance']:.1f} | | "
            f"| {step['bare_kib_per_socket']:.1f} | {fmt(step['memory_ratio'], '.2f')} |"
        )
    print()
    print(
        "RSS: VmRSS from /proc/PID/status, median of the samples (one a second) over the "
        f"{IDLE_SECONDS:.0f} s idle span (nothing connected) and over the {WINDOW_SECONDS:.0f} s "
        'window; per appliance/socket = (window - idle) / N; the "per extra one" rows divide '
        "the growth of the window RSS between two sizes by the extra appliances (sockets), "
        "leaving out fixed costs. Bare = a bare Tornado websocket server over TLS with the same "
        "certificate, pinging every 30 s."
    )
    print()
    print(
        "| N | hub CPU % idle | hub CPU %, N linked | bare CPU % idle | bare CPU %, N sockets "
        "| ratio | hub CPU ms per appliance per ping round | bare CPU ms per socket per round |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case, row in zip(cases, rows, strict=True):
        hub, bare = case["hub"], case["bare"]
        print(
            f"| {case['n']:,} | {hub['idle']['cpu_percent']:.2f} | {row['hub_cpu_percent']:.2f} "
            f"| {bare['idle']['cpu_percent']:.2f} | {row['bare_cpu_percent']:.2f} "
            f"| {fmt(row['cpu_ratio'], '.1f')} | {row['hub_cpu_ms_per_appliance_round']:.3f} "
            f"| {row['bare_cpu_ms_per_socket_round']:.3f} |"
        )
    print()
    print(
        "CPU: utime + stime from /proc/PID/stat (all threads), as % of one core over the span; "
        "per ping round = window CPU time above the idle rate, / N. "
        f"Pings: every {PING_INTERVAL:.0f} s per socket on both servers; the config has no knob "
        f"for the hub's interval, so it was not shortened: the {WINDOW_SECONDS:.0f} s window "
        "holds exactly one ping round (every socket pinged once), and nothing else is sent."
    )
    print()
    print(
        "| N | paired in this step | simulator processes | pairing (s) | pairs/s | hub CPU % "
        "| hub CPU ms per paired appliance | bare: more opened in (s) "
        "| hub: green at window end | bare: sockets closed so far |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for case in cases:
        hub, bare = case["hub"], case["bare"]
        pairing = hub["pairing"]
        print(
            f"| {case['n']:,} | {pairing['paired']:,} "
            f"| {process_counts(pairing['simulator_processes'])} "
            f"| {pairing['seconds_start_to_all_green']:.1f} "
            f"| {pairing['paired'] / pairing['seconds_start_to_all_green']:.0f} "
            f"| {pairing['cpu_percent_hub']:.0f} "
            f"| {pairing['cpu_seconds_hub'] / pairing['paired'] * 1e3:.1f} "
            f"| {bare['connect']['seconds_to_all_open']:.1f} "
            f"| {hub['window']['still_green']:,} | {bare['window']['closed_so_far']} |"
        )
    print()
    print(
        "Set-up, not part of the targets: a pairing step runs from starting its first simulator "
        "process until the dashboard shows all N green (hub CPU % over that span)."
    )
    if latency:
        print()
        print(
            f"| N = {LATENCY_SIZE:,}: knob flip | flips | p50 (ms) | p90 (ms) "
            f"| p99 (ms, target ≤ {LATENCY_TARGET_MS:.0f}) | max (ms) | POST answered, p50 (ms) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for what, figures in (
            ("low_memory on: green → yellow", latency),
            ("back off: yellow → green", latency_back),
        ):
            print(
                f"| {what} | {figures['flips']} | {figures['p50_ms']:.1f} "
                f"| {figures['p90_ms']:.1f} | {figures['p99_ms']:.1f} | {figures['max_ms']:.1f} "
                f"| {figures['post_p50_ms']:.1f} |"
            )
        print()
        print(
            "Latency: from just before the POST /api/knobs {low_memory: ...} on the appliance's "
            "admin UI to the dashboard websocket delivering that appliance in its new colour "
            "(simulator -> hub socket -> ApplianceActor -> store -> OrganizationActor -> live "
            f"socket); {latency['flips']} appliances one at a time, "
            f"{FLIP_GAP_SECONDS * 1e3:.0f} ms apart, all on, then all back off; nearest-rank "
            "percentiles (p99 of 50 is the slowest). The target is judged on the first row."
        )
    print()
    for row in rows:
        verdict = "met" if row["memory_target_met"] else "NOT met"
        print(
            f"Memory ratio at N = {row['n']:,}: {fmt(row['memory_ratio'], '.2f')} "
            f"(target ≤ {MEMORY_RATIO_TARGET}): {verdict}."
        )
    if latency:
        verdict = "met" if latency["target_met"] else "NOT met"
        print(
            f"Knob flip to dashboard p99 at N = {LATENCY_SIZE:,}: {latency['p99_ms']:.1f} ms "
            f"(target ≤ {LATENCY_TARGET_MS:.0f} ms): {verdict}."
        )


def machine() -> dict[str, Any]:
    """What the benchmark runs on."""
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return {
        "nproc": CPUS,
        "affinity": len(os.sched_getaffinity(0)),
        "memory_gib": memory_kib / 2**20,
        "python": platform.python_version(),
        "tornado": metadata.version("tornado"),
        "cryptography": metadata.version("cryptography"),
        "platform": platform.platform(),
        "nofile_soft_hard": resource.getrlimit(resource.RLIMIT_NOFILE),
        "load_average_before": os.getloadavg(),
    }


async def run(
    sizes: Sequence[int], workdir: Path, state: Path, results: dict[str, Any], protocol: int = 2
) -> None:
    """The hub through every size (its simulators speaking `protocol`), then the bare server
    (with the hub's certificate) through the same sizes; results go into `results` as they
    come."""
    children = Children(workdir)
    try:
        progress("Hub ...")
        await run_hub(sizes, workdir / "hub", state, children, results["hub"], protocol)
        progress("Bare Tornado ...")
        cert, key = Path(results["hub"]["cert"]), Path(results["hub"]["key"])
        await run_bare(sizes, cert, key, children, results["bare"])
    finally:
        await children.stop_all()
        children.kill_all()


async def run_guarded(
    sizes: Sequence[int],
    workdir: Path,
    state: Path,
    results: dict[str, Any],
    timeout: float,
    protocol: int = 2,
) -> None:
    """`run` within `timeout`, cancelled (subprocesses stopped) on SIGTERM too."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    async with asyncio.timeout(timeout):
        await run(sizes, workdir, state, results, protocol)


def combine(hub: dict[str, Any], bare: dict[str, Any]) -> list[dict[str, Any]]:
    """Per N measured on both servers: {"n", "hub": {...}, "bare": {...}}, each with the idle
    samples of its server."""
    bare_steps = {step["n"]: step for step in bare.get("steps", []) if "window" in step}
    return [
        {
            "n": step["n"],
            "hub": {"n": step["n"], "idle": hub["idle"], **step},
            "bare": {"n": step["n"], "idle": bare["idle"], **bare_steps[step["n"]]},
        }
        for step in hub.get("steps", [])
        if "window" in step and step["n"] in bare_steps
    ]


def save(results: dict[str, Any]) -> None:
    """Write the results to `RESULTS_PATH`."""
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"Results written to {RESULTS_PATH.relative_to(REPO_ROOT)}")


def main(include_max: bool, protocol: int = 2) -> None:
    """Run both servers through every size, print the tables and verdicts, save the JSON."""
    started = time.perf_counter()
    _soft, hard = raise_nofile_limit()
    max_size = (hard - MAX_HEADROOM) // 1_000 * 1_000
    sizes = (*SIZES, max_size) if include_max and max_size > SIZES[-1] else SIZES
    info = machine()
    print(
        f"# Appliance benchmark: nproc {CPUS}, {info['memory_gib']:.1f} GiB RAM, Python "
        f"{info['python']}, Tornado {info['tornado']}, open files soft/hard "
        f"{hard}/{hard} ({info['platform']})",
        flush=True,
    )
    print(
        "Load average before the run (other processes compete for the same cores): "
        + ", ".join(f"{value:.2f}" for value in info["load_average_before"]),
        flush=True,
    )
    print(
        f"N = {', '.join(f'{n:,}' for n in sizes)}"
        + ("" if include_max else f" (--max adds {max_size:,}, the most one process can hold)")
        + f"; at most {PER_PROCESS:,} simulated appliances or {BARE_PER_PROCESS:,} bare "
        "clients per process.",
        flush=True,
    )
    results: dict[str, Any] = {
        "machine": info,
        "settings": {
            "sizes": list(sizes),
            "simulators_per_process": PER_PROCESS,
            "start_next_simulator_at": START_NEXT_AT,
            "bare_clients_per_process": BARE_PER_PROCESS,
            "ping_interval_s": PING_INTERVAL,
            "protocol": protocol,
            "idle_seconds": IDLE_SECONDS,
            "settle_seconds": SETTLE_SECONDS,
            "window_seconds": WINDOW_SECONDS,
            "sample_seconds": SAMPLE_SECONDS,
            "add_workers": ADD_WORKERS,
            "latency_size": LATENCY_SIZE,
            "flips": FLIPS,
            "flip_gap_seconds": FLIP_GAP_SECONDS,
            "memory_ratio_target": MEMORY_RATIO_TARGET,
            "latency_target_ms": LATENCY_TARGET_MS,
        },
        "hub": {},
        "bare": {},
    }
    timeout = RUN_TIMEOUT + (MAX_RUN_EXTRA if include_max else 0.0)
    prefix = "mykerio-bench-appliances-"
    failure: BaseException | None = None
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as temp,
        tempfile.TemporaryDirectory(prefix=prefix, dir=SHM if SHM.is_dir() else None) as state,
    ):
        try:
            asyncio.run(run_guarded(sizes, Path(temp), Path(state), results, timeout, protocol))
        except (asyncio.CancelledError, KeyboardInterrupt):
            progress("interrupted; every subprocess was stopped")
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - reported with what was measured, then raised
            failure = exc
    hub, bare = results["hub"], results["bare"]
    hub.pop("cert", None)
    hub.pop("key", None)
    cases = combine(hub, bare)
    rows = summarise(cases)
    steps = marginal(cases)
    flipped: dict[str, Any] = next(
        (step for step in hub.get("steps", []) if "flips_back" in step), {}
    )
    latency = latency_summary(flipped["flips"]) if flipped else {}
    latency_back = latency_summary(flipped["flips_back"]) if flipped else {}
    if "hub" in hub:
        print(
            f"Hub: production configuration (store {hub['hub']['store']}, TLS, dev_mode "
            f"{hub['hub']['dev_mode']}), temporary data directory, port 0, open files "
            f"{hub['hub']['nofile']}; JSON info logs to a file. One hub and one bare server "
            "each grow through the sizes, with a window at each."
        )
    if cases:
        report(cases, rows, steps, latency, latency_back)
    if "stop_seconds" in hub:
        killed = " and was killed" if hub["stop_killed"] else ""
        print()
        print(
            f"Hub stop with all {sizes_max(hub)} appliances linked: {hub['stop_seconds']:.1f} s "
            f"from SIGTERM to exit{killed} (target: its shutdown deadline, 10 s; this script "
            f"kills it after {HUB_STOP_TIMEOUT:.0f} s; simulators paused meanwhile, as remote "
            "appliances would cost the hub no CPU). "
            f"Log events while running: {hub.get('log_events', {})}."
        )
    for moment, key in (("while running", "log_problems"), ("at stop", "log_problems_at_stop")):
        found: dict[str, int] = hub.get(key, {})
        if found:
            print()
            print(f"Hub log warnings and errors {moment}:")
            for text, count in found.items():
                print(f"  {count:,} x {text}")
    if hub.get("add_failures"):
        print()
        print("Adds that failed (the appliance was added later with a newer code, or never):")
        for line in hub["add_failures"]:
            print(f"  {line}")
    total = time.perf_counter() - started
    results.update(
        {
            "summary": rows,
            "marginal": steps,
            "latency": latency,
            "latency_back": latency_back,
            "total_seconds": total,
        }
    )
    print()
    print(f"Total runtime: {total:.1f} s")
    if failure is not None:
        results["error"] = f"{type(failure).__name__}: {failure}"
        print(f"FAILED: {results['error']} (what was measured before is above and saved)")
    save(results)
    if failure is not None:
        raise failure


def parse_args() -> argparse.Namespace:
    """The command line: `--max` for the full run; the other flags start the subprocesses."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--max",
        action="store_true",
        help="also run N = the open-file hard limit minus 1,000 (19,000 here); several minutes",
    )
    parser.add_argument(
        "--protocol",
        type=int,
        choices=(1, 2),
        default=2,
        help="the simulators' protocol version (default: 2, pinged with WebSocket ping frames;"
        " 1: JSON ping and pong, as before version 2)",
    )
    role = parser.add_mutually_exclusive_group()
    role.add_argument("--hub", metavar="DIR", help="be the hub, with its data under DIR")
    role.add_argument("--bare-server", nargs=2, metavar=("CERT", "KEY"), help="be the baseline")
    role.add_argument(
        "--bare-clients",
        nargs=4,
        metavar=("URL", "CAFILE", "COUNT", "CONCURRENCY"),
        help="hold COUNT websockets to the baseline, opening CONCURRENCY at a time",
    )
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.hub:
        run_hub_process(Path(arguments.hub))
    elif arguments.bare_server:
        run_bare_server(Path(arguments.bare_server[0]), Path(arguments.bare_server[1]))
    elif arguments.bare_clients:
        bare_url, bare_cafile, bare_count, bare_concurrency = arguments.bare_clients
        run_bare_clients(bare_url, Path(bare_cafile), int(bare_count), int(bare_concurrency))
    else:
        main(arguments.max, arguments.protocol)
