"""Login benchmark: hub logins per second per core, and event-loop lag while 50 logins hash.

The accounts issue asks for "logins per second per core, and the loop's lag p99 while 50 logins
hash at once (target ≤ 20 ms)". Everything runs with the production Argon2id parameters
(`PRODUCTION_PARAMETERS`: 64 MiB, t=3, p=4, which are also the hub's defaults), never cheaper
ones. Steps, all in one run so the ratios compare like with like:

1. Raw baseline: `PasswordHasher.verify` called directly from a `ThreadPoolExecutor` of
   `os.cpu_count()` workers (argon2-cffi releases the GIL), `RAW_VERIFIES` verifications per
   run; verifies/s is the median of `ROUNDS` runs. First come `SOLO_VERIFIES` verifications
   one at a time (the time of one verify alone) and a warm-up of every thread; the runs
   themselves are interleaved with the hub's rounds (step 4), one just before each round, so
   that baseline and hub share the machine's conditions (on a shared machine, other processes'
   load comes and goes: the load average is printed).
2. A real `web.hub.Hub` in this process (`asyncio.run`): default configuration (production
   hashing, 8 accounts workers, a hashing pool of `os.cpu_count()` threads), a temporary data
   directory, `dev_mode` (no SMTP), port 0 on 127.0.0.1, logging at info level as JSON lines
   to a file, as in production. `USERS` confirmed users are added straight to its store, each
   with its own password and hash (hashed in a thread pool, off the loop).
3. A loop-lag sampler in the hub process: a timer every 5 ms records how late the loop runs it
   (`loop.time()` minus the time it was due). Idle baseline: `IDLE_SECONDS` with no load.
4. Load: a subprocess (`python bench/login.py --client URL CAFILE USERS_FILE ROUNDS`), so that
   its TLS handshakes and client work never run on the hub's loop. Per round it starts one
   thread per user, releases them together with a `threading.Barrier`, and each opens its own
   HTTPS connection (`http.client`, trusting the hub's certificate), GETs /api/v1/csrf and
   POSTs /api/v1/sessions for its user on that connection; only the POST is timed. It prints a
   JSON line when each round starts and ends, and one result line with every login's status and
   duration and each round's wall time (barrier release to the last answer). Before each round
   it says "ready" and waits for "go" on stdin, which the hub process sends after that round's
   raw run (done in a thread, the hub idle meanwhile). The hub process runs it with
   `asyncio.create_subprocess_exec`, never blocking its loop; lag samples taken between a
   round's start and end lines count as "under load", per round. `ROUNDS` rounds.

Every login must answer 200 `logged_in`; the run prints the failures, still reports and saves
its figures, and then exits with an AssertionError. Note that the hub's default
`actors.ask_timeout` (10 s) also bounds a queued login: when 50 logins take longer than that to
hash (a slow or busy machine), the last ones answer 503 `actor_timeout`. The bench keeps that
default, so such a run fails rather than hiding it.

Reported: raw verifies/s (and per core); hub logins/s = logins ÷ summed round wall time (and
per core, ÷ `os.cpu_count()`), and its ratio to the raw rate; login latency p50/p99 from the
client (median over rounds); loop lag p50/p99/max idle vs under load (median over rounds) and
whether p99 under load meets the target; per round also when its worst lag happened. The round
wall time and lag window include the server's share of the TLS handshakes and CSRF requests, as
a real login burst does. Results go to bench/results/login.json.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import platform
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import argon2

    from mykerio.config import Config
    from mykerio.security.passwords import PasswordHasher
    from web.hub import Hub

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# `python bench/login.py` puts bench/ first on sys.path, where bench/actors.py would shadow the
# `actors` package: put the repository root there instead.
sys.path[:] = [entry for entry in sys.path if Path(entry or os.curdir).resolve() != BENCH_DIR]
sys.path.insert(0, str(REPO_ROOT))

from bench.common import emit, percentile, progress  # noqa: E402

# The project's modules are imported inside the functions that use them, never at the top: the
# `--client` subprocess needs only the standard library, and so starts fast and cannot be
# broken by (or measure) anything in the hub's code.

USERS = 50
ROUNDS = 3
RAW_VERIFIES = 24
SOLO_VERIFIES = 3
IDLE_SECONDS = 2.0
LAG_TIMER_SECONDS = 0.005
LAG_TARGET_MS = 20.0
HTTP_TIMEOUT = 30.0
BARRIER_TIMEOUT = 30.0
ROUND_TIMEOUT = 40.0
RAW_TIMEOUT = 20.0
USERS_TIMEOUT = 40.0
CLIENT_TIMEOUT = 100.0
STOP_DEADLINE = 10.0
USER_AGENT = "mykerio-bench-login"
XSRF_COOKIE = "__Host-xsrf"
RESULTS_PATH = BENCH_DIR / "results" / "login.json"
SCRIPT = Path(__file__).resolve()
CPUS = os.cpu_count() or 1


def password_for(index: int) -> str:
    """The benchmark password of user `index` (every user has a different one)."""
    return f"Bench-Harbour-{index:02d}-Tulip!"


# --- 1. raw Argon2id baseline ----------------------------------------------------------------


class RawBaseline:
    """Argon2id verifications straight from `pool` (`CPUS` threads), no hub involved."""

    def __init__(self, hasher: PasswordHasher, pool: ThreadPoolExecutor) -> None:
        self.hasher = hasher
        self.pool = pool
        self.password = password_for(0)
        self.password_hash = hasher.hash(self.password)
        self.alone: list[float] = []
        self.runs: list[dict[str, float]] = []

    def _timed_verify(self, _: int = 0) -> float:
        started = time.perf_counter()
        if not self.hasher.verify(self.password_hash, self.password):
            raise RuntimeError("the benchmark password does not verify against its own hash")
        return time.perf_counter() - started

    def prepare(self) -> None:
        """Time `SOLO_VERIFIES` verifications one at a time, then warm every pool thread up."""
        self.alone = [self._timed_verify() for _ in range(SOLO_VERIFIES)]
        list(self.pool.map(self._timed_verify, range(CPUS), timeout=RAW_TIMEOUT))

    def run(self) -> dict[str, float]:
        """One run: `RAW_VERIFIES` verifications through the pool; blocks, so not on the loop."""
        started = time.perf_counter()
        durations = list(
            self.pool.map(self._timed_verify, range(RAW_VERIFIES), timeout=RAW_TIMEOUT)
        )
        elapsed = time.perf_counter() - started
        run = {
            "verifies_per_s": RAW_VERIFIES / elapsed,
            "seconds": elapsed,
            "verify_p50_ms": percentile(durations, 50) * 1e3,
        }
        self.runs.append(run)
        return run

    def summary(self) -> dict[str, Any]:
        """Median verifies/s over the runs (and per core), and the times of one verification."""
        verifies_per_s = statistics.median(run["verifies_per_s"] for run in self.runs)
        return {
            "workers": CPUS,
            "verifies_per_run": RAW_VERIFIES,
            "verifies_per_s": verifies_per_s,
            "verifies_per_s_per_core": verifies_per_s / CPUS,
            "verify_in_pool_p50_ms": statistics.median(r["verify_p50_ms"] for r in self.runs),
            "verify_alone_ms": statistics.median(self.alone) * 1e3,
            "runs": self.runs,
        }


# --- 2-4. the hub, its loop-lag sampler, and the load generator's rounds ---------------------


class LagSampler:
    """Runs a `LAG_TIMER_SECONDS` timer; while a window is open, records how late it fires.

    Per window it also keeps when (seconds after the window opened) the worst lag was due.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.window: str | None = None
        self.lags: dict[str, list[float]] = {}
        self.worst_at: dict[str, float] = {}
        self._opened = 0.0
        self._worst: dict[str, float] = {}
        self._handle: asyncio.TimerHandle | None = None

    def open(self, window: str) -> None:
        """Count the samples from now on towards `window`."""
        self.window = window
        self._opened = self.loop.time()

    def close(self) -> None:
        """Stop counting samples towards any window."""
        self.window = None

    def start(self) -> None:
        """Arm the timer."""
        self._arm()

    def _arm(self) -> None:
        due = self.loop.time() + LAG_TIMER_SECONDS
        self._handle = self.loop.call_at(due, self._fire, due)

    def _fire(self, due: float) -> None:
        if self.window is not None:
            lag = self.loop.time() - due
            self.lags.setdefault(self.window, []).append(lag)
            if lag > self._worst.get(self.window, -1.0):
                self._worst[self.window] = lag
                self.worst_at[self.window] = due - self._opened
        self._arm()

    def stop(self) -> None:
        """Disarm the timer."""
        self.window = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def lag_stats(lags: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max of lag samples (seconds), in milliseconds, and how many there were."""
    values = list(lags) or [0.0]
    return {
        "lag_p50_ms": percentile(values, 50) * 1e3,
        "lag_p99_ms": percentile(values, 99) * 1e3,
        "lag_max_ms": max(values) * 1e3,
        "lag_samples": len(lags),
    }


def hub_config(data_dir: Path, parameters: argon2.Parameters) -> Config:
    """The hub's defaults (production hashing), on a free loopback port, in `data_dir`."""
    from mykerio.config import load_config

    config = load_config(
        overrides={"server.port": 0, "hub.data_dir": str(data_dir), "hub.dev_mode": True}
    )
    accounts = config.accounts
    if (accounts.password_hash_memory_kib, accounts.password_hash_iterations) != (
        parameters.memory_cost,
        parameters.time_cost,
    ):
        # Otherwise every login would also rehash, and the users' hashes would not be the hub's.
        raise RuntimeError("the hub's default hashing parameters differ from production ones")
    return config


async def add_users(hub: Hub, raw: RawBaseline) -> list[dict[str, str]]:
    """Add `USERS` confirmed users, each hashed in `raw`'s pool; their emails and passwords."""
    from mykerio.models import User, new_id

    assert hub.store is not None
    loop = asyncio.get_running_loop()
    credentials = [
        {"email": f"bench{index:02d}@bench.example", "password": password_for(index)}
        for index in range(USERS)
    ]
    hashes = await asyncio.wait_for(
        asyncio.gather(
            *(
                loop.run_in_executor(raw.pool, raw.hasher.hash, credential["password"])
                for credential in credentials
            )
        ),
        timeout=USERS_TIMEOUT,
    )
    now = datetime.now(UTC)
    for index, (credential, password_hash) in enumerate(zip(credentials, hashes, strict=True)):
        await hub.store.users.add(
            User(
                id=new_id(),
                email=credential["email"],
                full_name=f"Bench User {index}",
                password_hash=password_hash,
                created_at=now,
                confirmed_at=now,
                password_changed_at=now,
            )
        )
    return credentials


async def run_client(
    url: str, cafile: Path, users_file: Path, sampler: LagSampler, raw: RawBaseline
) -> dict[str, Any]:
    """Run the load generator subprocess, opening a lag window per round; its result line.

    Before each round the client waits for a "go" line, sent once a raw run is done.
    """
    command = [str(SCRIPT), "--client", url, str(cafile), str(users_file)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *command,
        str(ROUNDS),
        cwd=REPO_ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=2**22,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    assert process.stderr is not None
    errors = asyncio.create_task(process.stderr.read())
    result: dict[str, Any] | None = None
    try:
        async with asyncio.timeout(CLIENT_TIMEOUT):
            while line := await process.stdout.readline():
                if not line.startswith(b"{"):
                    continue
                event = json.loads(line)
                if event["event"] == "ready":
                    run = await asyncio.to_thread(raw.run)
                    progress(f"  raw run {event['round'] + 1}: {run['verifies_per_s']:.2f}/s")
                    process.stdin.write(b"go\n")
                    await process.stdin.drain()
                elif event["event"] == "round_start":
                    sampler.open(f"round {event['round']}")
                elif event["event"] == "round_end":
                    sampler.close()
                    progress(f"  round {event['round'] + 1}/{ROUNDS}: {event['wall_s']:.2f} s")
                elif event["event"] == "result":
                    result = event
            await process.wait()
    except TimeoutError:
        process.kill()
        await asyncio.wait_for(process.wait(), timeout=5)
        raise RuntimeError(f"the load generator ran past {CLIENT_TIMEOUT:.0f} s") from None
    finally:
        sampler.close()
    stderr = (await asyncio.wait_for(errors, timeout=5)).decode(errors="replace")
    if process.returncode != 0 or result is None:
        tail = "\n".join(stderr.strip().splitlines()[-10:])
        raise RuntimeError(f"the load generator failed (exit {process.returncode}):\n{tail}")
    return result


async def run_hub(workdir: Path, raw: RawBaseline) -> dict[str, Any]:
    """Start a hub, add the users, sample the loop idle and under the client's rounds."""
    from web.hub import Hub

    config = hub_config(workdir / "data", raw.hasher.parameters)
    hub = Hub(config)
    await hub.start()
    sampler = LagSampler(asyncio.get_running_loop())
    try:
        progress(f"hub at {hub.url}; adding {USERS} users ...")
        credentials = await add_users(hub, raw)
        users_file = workdir / "users.json"
        users_file.write_text(json.dumps(credentials), encoding="utf-8")
        sampler.start()
        progress(f"idle loop lag for {IDLE_SECONDS:.0f} s ...")
        sampler.open("idle")
        await asyncio.sleep(IDLE_SECONDS)
        sampler.close()
        progress(f"{ROUNDS} x (a raw run, then a round of {USERS} concurrent logins) ...")
        cafile = workdir / "data" / "tls" / "cert.pem"
        client = await run_client(hub.url, cafile, users_file, sampler, raw)
    finally:
        sampler.stop()
        stop_started = time.perf_counter()
        await hub.stop(deadline=STOP_DEADLINE)
        stop_seconds = time.perf_counter() - stop_started
    return {
        "config": config,
        "lags": sampler.lags,
        "worst_at": sampler.worst_at,
        "client": client,
        "stop_seconds": stop_seconds,
    }


def run_hub_logged(workdir: Path, raw: RawBaseline) -> dict[str, Any]:
    """`run_hub` on a fresh loop, the hub logging at info level as JSON lines to a file (as in
    production, but off the screen); its warnings and errors are added to the result."""
    from mykerio.logs import configure_logging

    log_file = workdir / "hub.log"
    with log_file.open("w", encoding="utf-8") as log_stream:
        configure_logging("json", "info", stream=log_stream)
        try:
            # The file stays open until the loop is closed: tasks cancelled then still log.
            hub_run = asyncio.run(run_hub(workdir, raw))
        finally:
            configure_logging("console", "warning")  # to stderr: the file is about to close
    hub_run["log_problems"] = [
        line
        for line in log_file.read_text(encoding="utf-8").splitlines()
        if '"level": "error"' in line or '"level": "warning"' in line
    ]
    return hub_run


# --- the load generator (the `--client` subprocess) ------------------------------------------


def xsrf_cookie(response: http.client.HTTPResponse) -> str:
    """The value of the CSRF cookie the response sets."""
    for header in response.headers.get_all("Set-Cookie") or []:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if XSRF_COOKIE in jar:
            return jar[XSRF_COOKIE].value
    raise ValueError(f"no {XSRF_COOKIE} cookie in the CSRF answer")


def login_once(
    host: str, port: int, context: ssl.SSLContext, user: dict[str, str]
) -> dict[str, Any]:
    """Connect, fetch a CSRF token, log in; the POST's status, duration and any error."""
    outcome: dict[str, Any] = {"email": user["email"], "status": 0, "post_ms": None, "error": ""}
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=HTTP_TIMEOUT)
    try:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        connection.request("GET", "/api/v1/csrf", headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            outcome["error"] = f"CSRF GET answered {response.status}: {body[:300]!r}"
            return outcome
        token = json.loads(body)["csrf_token"]
        payload = {"email": user["email"], "password": user["password"], "keep_logged_in": False}
        headers |= {
            "Content-Type": "application/json",
            "X-XSRFToken": token,
            "Cookie": f"{XSRF_COOKIE}={xsrf_cookie(response)}",
        }
        started = time.perf_counter()
        connection.request("POST", "/api/v1/sessions", body=json.dumps(payload), headers=headers)
        response = connection.getresponse()
        body = response.read()
        outcome["post_ms"] = (time.perf_counter() - started) * 1e3
        outcome["status"] = response.status
        if response.status != 200 or json.loads(body).get("status") != "logged_in":
            outcome["error"] = f"POST answered {response.status}: {body[:300]!r}"
    except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
    return outcome


def client_round(
    index: int, host: str, port: int, context: ssl.SSLContext, users: list[dict[str, str]]
) -> dict[str, Any]:
    """One round: a thread per user, released together; the round's wall time and outcomes."""
    barrier = threading.Barrier(len(users) + 1, timeout=BARRIER_TIMEOUT)
    outcomes: list[dict[str, Any] | None] = [None] * len(users)

    def worker(slot: int) -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            outcomes[slot] = {"email": users[slot]["email"], "status": 0, "error": "barrier"}
            return
        outcomes[slot] = login_once(host, port, context, users[slot])

    threads = [
        threading.Thread(target=worker, args=(slot,), name=f"login-{slot}", daemon=True)
        for slot in range(len(users))
    ]
    for thread in threads:
        thread.start()
    emit({"event": "round_start", "round": index})
    barrier.wait()
    started = time.perf_counter()
    deadline = started + ROUND_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.perf_counter()))
    wall = time.perf_counter() - started
    emit({"event": "round_end", "round": index, "wall_s": wall})
    logins = [
        outcome or {"email": users[slot]["email"], "status": 0, "error": "no answer in time"}
        for slot, outcome in enumerate(outcomes)
    ]
    return {"round": index, "wall_s": wall, "logins": logins}


def run_client_process(url: str, cafile: str, users_file: str, rounds: int) -> None:
    """The `--client` subprocess: run the rounds and print the result as one JSON line."""
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        sys.exit(f"not a URL with a host and port: {url}")
    context = ssl.create_default_context(cafile=cafile)
    users: list[dict[str, str]] = json.loads(Path(users_file).read_text(encoding="utf-8"))
    results: list[dict[str, Any]] = []
    for index in range(rounds):
        emit({"event": "ready", "round": index})
        if sys.stdin.readline().strip() != "go":
            sys.exit("the hub process did not say go")
        results.append(client_round(index, parts.hostname, parts.port, context, users))
    emit({"event": "result", "rounds": results})


# --- the report -------------------------------------------------------------------------------


def machine(config: Config, parameters: argon2.Parameters) -> dict[str, Any]:
    """What the benchmark ran on, and with which parameters."""
    return {
        "nproc": CPUS,
        "affinity": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "argon2_cffi": metadata.version("argon2-cffi"),
        "tornado": metadata.version("tornado"),
        "platform": platform.platform(),
        "argon2": {
            "type": parameters.type.name,
            "memory_kib": parameters.memory_cost,
            "time_cost": parameters.time_cost,
            "parallelism": parameters.parallelism,
            "hash_len": parameters.hash_len,
            "salt_len": parameters.salt_len,
        },
        "hub_accounts_workers": config.actors.accounts_workers,
        "hub_hashing_threads": CPUS,
        "hub_ask_timeout_s": config.actors.ask_timeout,
    }


def summarise(raw: dict[str, Any], hub_run: dict[str, Any]) -> dict[str, Any]:
    """Per-round figures, their medians, the idle baseline, and the ratios."""
    lags: dict[str, list[float]] = hub_run["lags"]
    rounds: list[dict[str, Any]] = []
    for entry in hub_run["client"]["rounds"]:
        durations = [login["post_ms"] for login in entry["logins"] if login["post_ms"] is not None]
        rounds.append(
            {
                "round": entry["round"],
                "logins": len(entry["logins"]),
                "wall_s": entry["wall_s"],
                "logins_per_s": len(entry["logins"]) / entry["wall_s"],
                "raw_verifies_per_s_before": raw["runs"][entry["round"]]["verifies_per_s"],
                "latency_p50_ms": percentile(durations or [math.nan], 50),
                "latency_p99_ms": percentile(durations or [math.nan], 99),
                **lag_stats(lags.get(f"round {entry['round']}", [])),
                "lag_max_at_s": hub_run["worst_at"].get(f"round {entry['round']}"),
            }
        )
    logins = sum(entry["logins"] for entry in rounds)
    logins_per_s = logins / sum(entry["wall_s"] for entry in rounds)
    load_lags = [lag for entry in rounds for lag in lags.get(f"round {entry['round']}", [])]
    idle = lag_stats(lags.get("idle", []))
    load = {key: statistics.median(entry[key] for entry in rounds) for key in idle}
    summary = {
        "logins": logins,
        "logins_per_s": logins_per_s,
        "logins_per_s_per_core": logins_per_s / CPUS,
        "logins_per_s_round_median": statistics.median(e["logins_per_s"] for e in rounds),
        "latency_p50_ms": statistics.median(e["latency_p50_ms"] for e in rounds),
        "latency_p99_ms": statistics.median(e["latency_p99_ms"] for e in rounds),
        "idle": idle,
        "load_round_median": load,
        "load_pooled": lag_stats(load_lags),
        "lag_target_ms": LAG_TARGET_MS,
    }
    summary["target_met"] = load["lag_p99_ms"] <= LAG_TARGET_MS
    summary["ratios"] = {
        "logins_per_s_over_raw_verifies_per_s": logins_per_s / raw["verifies_per_s"],
        "latency_p50_over_verify_alone": summary["latency_p50_ms"] / raw["verify_alone_ms"],
        "lag_p50_load_over_idle": _ratio(load["lag_p50_ms"], idle["lag_p50_ms"]),
        "lag_p99_load_over_idle": _ratio(load["lag_p99_ms"], idle["lag_p99_ms"]),
        "lag_max_load_over_idle": _ratio(load["lag_max_ms"], idle["lag_max_ms"]),
    }
    return {"rounds": rounds, "summary": summary}


def _ratio(value: float, baseline: float) -> float | None:
    return value / baseline if baseline > 0 else None


def failures(client: dict[str, Any]) -> list[str]:
    """One line per login that did not answer 200 `logged_in`."""
    return [
        f"round {entry['round'] + 1}, {login['email']}: status {login['status']}, {login['error']}"
        for entry in client["rounds"]
        for login in entry["logins"]
        if login["status"] != 200 or login["error"]
    ]


def fmt(value: Any, spec: str) -> str:
    """Format a number with `spec`, or "—" when there is none."""
    return "—" if value is None or value != value else format(value, spec)


def report(info: dict[str, Any], raw: dict[str, Any], measured: dict[str, Any]) -> None:
    """Print the summary table, the per-round table and the target verdict."""
    summary, ratios = measured["summary"], measured["summary"]["ratios"]
    idle, load = summary["idle"], summary["load_round_median"]
    print()
    print(
        f"| measure | hub, {USERS} concurrent logins | same-run baseline | ratio |\n"
        "|---|---:|---:|---:|\n"
        f"| logins/s vs raw verifies/s ({CPUS} threads) | {summary['logins_per_s']:.2f} "
        f"| {raw['verifies_per_s']:.2f} | {ratios['logins_per_s_over_raw_verifies_per_s']:.3f} |\n"
        f"| … per core | {summary['logins_per_s_per_core']:.2f} "
        f"| {raw['verifies_per_s_per_core']:.2f} "
        f"| {ratios['logins_per_s_over_raw_verifies_per_s']:.3f} |\n"
        f"| login latency p50 (ms) vs one verify alone | {summary['latency_p50_ms']:,.0f} "
        f"| {raw['verify_alone_ms']:,.0f} | {ratios['latency_p50_over_verify_alone']:.1f} |\n"
        f"| login latency p99 (ms) | {summary['latency_p99_ms']:,.0f} | — | — |\n"
        f"| loop lag p50 (ms), load vs idle | {load['lag_p50_ms']:.2f} | {idle['lag_p50_ms']:.2f} "
        f"| {fmt(ratios['lag_p50_load_over_idle'], '.1f')} |\n"
        f"| loop lag p99 (ms), load vs idle | {load['lag_p99_ms']:.2f} | {idle['lag_p99_ms']:.2f} "
        f"| {fmt(ratios['lag_p99_load_over_idle'], '.1f')} |\n"
        f"| loop lag max (ms), load vs idle | {load['lag_max_ms']:.2f} | {idle['lag_max_ms']:.2f} "
        f"| {fmt(ratios['lag_max_load_over_idle'], '.1f')} |"
    )
    print()
    print(
        f"Hub logins/s: {summary['logins']} logins ÷ summed round wall time (median of rounds: "
        f"{summary['logins_per_s_round_median']:.2f}); per core: ÷ {CPUS}. Raw: median of "
        f"{ROUNDS} runs of {RAW_VERIFIES} verifications, one just before each round; one "
        f"verify alone: median of {SOLO_VERIFIES}. Latency: the POST, client-side, "
        f"median over {ROUNDS} rounds of each round's p50/p99 (p99 of {USERS} = the slowest). "
        f"Loop lag: lateness of a {LAG_TIMER_SECONDS * 1e3:.0f} ms timer; load figures are "
        f"medians over rounds, idle is one {IDLE_SECONDS:.0f} s window "
        f"({idle['lag_samples']} samples)."
    )
    print()
    print(
        "| round | raw verifies/s just before | wall (s) | logins/s | ratio "
        "| latency p50 (ms) | latency p99 (ms) "
        "| lag p50 (ms) | lag p99 (ms) | lag max (ms) | max at (s) | lag samples |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for entry in measured["rounds"]:
        ratio = entry["logins_per_s"] / entry["raw_verifies_per_s_before"]
        print(
            f"| {entry['round'] + 1} | {entry['raw_verifies_per_s_before']:.2f} "
            f"| {entry['wall_s']:.2f} | {entry['logins_per_s']:.2f} | {ratio:.3f} "
            f"| {entry['latency_p50_ms']:,.0f} | {entry['latency_p99_ms']:,.0f} "
            f"| {entry['lag_p50_ms']:.2f} | {entry['lag_p99_ms']:.2f} | {entry['lag_max_ms']:.2f} "
            f"| {fmt(entry['lag_max_at_s'], '.2f')} | {entry['lag_samples']} |"
        )
    print()
    print(
        "max at: when the round's worst lag was due, in seconds after the round started (its "
        "connections, TLS handshakes and CSRF requests come first)."
    )
    pooled = summary["load_pooled"]
    verdict = "met" if summary["target_met"] else "NOT met"
    print()
    print(
        f"Loop lag p99 under {USERS} concurrent logins: {load['lag_p99_ms']:.2f} ms (median of "
        f"rounds; all {pooled['lag_samples']} samples pooled: {pooled['lag_p99_ms']:.2f} ms, "
        f"worst round {max(e['lag_p99_ms'] for e in measured['rounds']):.2f} ms). "
        f"Target ≤ {LAG_TARGET_MS:.0f} ms: {verdict}."
    )


def main() -> None:
    """Measure the raw baseline, then the hub under load; print the tables and save the JSON."""
    from mykerio.security.passwords import PRODUCTION_PARAMETERS, PasswordHasher

    started = time.perf_counter()
    parameters = PRODUCTION_PARAMETERS
    print(
        f"# Login benchmark: nproc {CPUS}, Python {platform.python_version()}, argon2-cffi "
        f"{metadata.version('argon2-cffi')}, Argon2id m={parameters.memory_cost} KiB "
        f"({parameters.memory_cost // 1024} MiB), t={parameters.time_cost}, "
        f"p={parameters.parallelism} ({platform.platform()})",
        flush=True,
    )
    load_before = os.getloadavg()
    print(
        "Load average before the run (other processes compete for the same cores): "
        + ", ".join(f"{value:.2f}" for value in load_before),
        flush=True,
    )
    with ThreadPoolExecutor(max_workers=CPUS, thread_name_prefix="bench-argon2") as pool:
        baseline = RawBaseline(PasswordHasher(parameters), pool)
        progress(f"one verification at a time, then warming up {CPUS} threads ...")
        baseline.prepare()
        with tempfile.TemporaryDirectory(prefix="mykerio-bench-login-") as temp:
            hub_run = run_hub_logged(Path(temp), baseline)
    raw = baseline.summary()
    info = machine(hub_run["config"], parameters)
    info["load_average_before"] = load_before
    print(
        f"Hub: {info['hub_accounts_workers']} accounts workers, a hashing pool of "
        f"{info['hub_hashing_threads']} threads, ask timeout {info['hub_ask_timeout_s']:g} s, "
        "SQLite store, TLS on loopback; "
        f"{USERS} users x {ROUNDS} rounds; stopped cleanly in {hub_run['stop_seconds']:.2f} s."
    )
    measured = summarise(raw, hub_run)
    report(info, raw, measured)
    failed = failures(hub_run["client"])
    if failed:
        print(
            f"\n{len(failed)} of {USERS * ROUNDS} logins FAILED (the figures above include "
            "them, as the client timed them):"
        )
        for line in failed[:20]:
            print(f"  {line}")
        for line in hub_run["log_problems"][:10]:
            print(f"  hub log: {line}")
    total = time.perf_counter() - started
    print()
    print(f"Total runtime: {total:.1f} s")
    results = {
        "machine": info,
        "settings": {
            "users": USERS,
            "rounds": ROUNDS,
            "raw_verifies_per_run": RAW_VERIFIES,
            "raw_runs": ROUNDS,
            "idle_seconds": IDLE_SECONDS,
            "lag_timer_ms": LAG_TIMER_SECONDS * 1e3,
            "lag_target_ms": LAG_TARGET_MS,
        },
        "raw": raw,
        **measured,
        "logins": hub_run["client"]["rounds"],
        "hub_stop_seconds": hub_run["stop_seconds"],
        "failures": failed,
        "total_seconds": total,
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"Results written to {RESULTS_PATH.relative_to(REPO_ROOT)}")
    assert not failed, f"{len(failed)} of {USERS * ROUNDS} logins did not answer 200 logged_in"


def parse_args() -> argparse.Namespace:
    """The command line: nothing for the full run, `--client …` for the load generator."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--client",
        nargs=4,
        metavar=("URL", "CAFILE", "USERS_FILE", "ROUNDS"),
        help="be the load generator: log every user in, ROUNDS times, and print JSON lines",
    )
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.client:
        client_url, client_cafile, client_users, client_rounds = arguments.client
        run_client_process(client_url, client_cafile, client_users, int(client_rounds))
    else:
        main()
