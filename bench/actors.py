"""Actor-runtime benchmark: loop-hosted `LoopActor`s against pykka's stock `ThreadingActor`.

Kinds and sizes: `loop` (actors.runtime.LoopActor, dispatched by one `LoopRuntime` on the asyncio
loop) at N = 1,000 / 10,000 / 50,000 actors, and `thread` (`pykka.ThreadingActor`, one daemon OS
thread per actor, default `threading.stack_size`) at N = 1,000 / 10,000 only: beyond that, threads
run into kernel limits. `loop-gc` is `loop` with the hub's garbage-collector tuning
(web/hub.py): the thresholds `actors.supervisor.GC_THRESHOLDS` and a `HeapFreezer` told of every
actor start, which freezes the heap after each 1,000 starts. Loop actors of both kinds are
started 1,000 at a time, each thousand answering an ask before the next is started (as
appliances connect over time, not all in one loop turn), so that the freezer can run between.

Every (kind, N) case runs in a fresh subprocess (`python bench/actors.py --case KIND N`, which
prints one JSON line), so that one case's heap, threads and garbage don't pollute the next. A case
that runs past its timeout is killed and reported as "timeout". Per case:

- memory per actor: (RSS after starting N actors and one ask round-trip to each, minus RSS
  before) / N, RSS read from /proc/self/statm (tracemalloc is not used: it slows everything
  down). Measured once per case, when the actors start.
- tells/s: 200,000 tells sent round-robin across the N actors (each actor counts them), then one
  ask to every actor that returns and resets its count; the sum must equal the number sent. The
  clock runs from the first tell until the last count is in, so the final ask round (N asks,
  1,000 in flight at a time) is included in the timing. Loop actors are told from the loop
  thread without yielding while sending; thread actors are told, and asked, from the main
  thread. Sending stops early once it has taken `TELL_SECONDS`: ThreadingActor manages only a
  few thousand tells/s (hundreds at 10,000 actors), so 200,000 would take minutes per repeat;
  the rate is then over the tells actually sent, and the table marks it with `*`.
- ask latency p50/p99 (µs): 2,000 sequential asks to random actors, one at a time, each timed
  (loop: `await ask(...)`; threads: blocking `ref.ask(...)` from the main thread).
- loop lag p99 under 10k asks (loop only): a 2 ms timer samples how late the loop runs it while
  10,000 concurrent asks to random actors (one task each, created 200 per loop turn) are in
  flight. As in tests/actors/test_runtime.py, the cyclic garbage collector is paused for that
  window (its pauses are the next column); the lag with it running is in the JSON and in the
  table comparing `loop` with `loop-gc`. Clients count down to an event rather than being
  gathered: gathering 10,000 futures stalls the loop by itself. One untimed warm-up round comes
  first (the first round in a process runs slower).
- worst GC pause (loop only): the longest collection over the whole case, timed with
  gc.callbacks start/stop, since a collection stalls the loop and adds to its lag. Not reported
  for threads, where GIL hand-offs between the two callbacks make the figure meaningless.

The timing measurements are repeated 3 times per case and their medians reported. The parent
prints the machine, the table of cases and a table of loop-vs-threading ratios, and writes
everything to bench/results/actors.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pykka

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# `python bench/actors.py` puts bench/ first on sys.path, where this file would shadow the
# `actors` package: put the repository root there instead.
sys.path[:] = [entry for entry in sys.path if Path(entry or os.curdir).resolve() != BENCH_DIR]
sys.path.insert(0, str(REPO_ROOT))

from actors.runtime import LoopActor, LoopRuntime, answer, ask  # noqa: E402
from actors.supervisor import GC_THRESHOLDS, HeapFreezer  # noqa: E402
from bench.common import percentile  # noqa: E402

LOOP_KINDS = ("loop", "loop-gc")
LOOP_SIZES = (1_000, 10_000, 50_000)
THREAD_SIZES = (1_000, 10_000)
TELLS = 200_000
TELL_SECONDS = 10.0
TELL_BLOCK = 200
SEQUENTIAL_ASKS = 2_000
CONCURRENT_ASKS = 10_000
TASKS_PER_TURN = 200
LAG_TIMER_SECONDS = 0.002
BATCH = 1_000
REPEATS = 3
ASK_TIMEOUT = 60.0
CASE_TIMEOUT = 180.0
TOTAL_BUDGET = 330.0
RESULTS_PATH = BENCH_DIR / "results" / "actors.json"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

# Messages: a counted tick, a ping answered with None, and "take": answer the count and reset it.
TICK = 0
PING = 1
TAKE = 2

Refs = Sequence[pykka.ActorRef[Any]]


class _Counting:
    """The benchmark actors' behaviour, shared by both kinds."""

    count = 0

    def on_receive(self, message: Any) -> Any:
        """Count ticks, answer pings, hand over (and reset) the count on `TAKE`."""
        if message == TICK:
            self.count += 1
            return None
        if message == TAKE:
            taken, self.count = self.count, 0
            return taken
        return None


class LoopCounter(_Counting, LoopActor):
    """A counting actor served by the event loop."""

    kind = "bench"


class ThreadCounter(_Counting, pykka.ThreadingActor):
    """A counting actor on an OS thread of its own."""

    use_daemon_thread = True


class GcWatch:
    """Times every collection of the cyclic garbage collector through `gc.callbacks`."""

    def __init__(self) -> None:
        self._started = 0.0
        self.worst = 0.0
        self.worst_generation = -1
        self.collections = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        """The gc callback: `phase` is "start" or "stop"."""
        now = time.perf_counter()
        if phase == "start":
            self._started = now
            return
        self.collections += 1
        pause = now - self._started
        if pause > self.worst:
            self.worst = pause
            self.worst_generation = info.get("generation", -1)


def rss_bytes() -> int:
    """The process's resident set size, from /proc/self/statm."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def raise_nofile_limit() -> None:
    """Raise the soft limit on open files to the hard limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median of each measurement over the repeated runs."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def send_tells(refs: Refs, started: float) -> int:
    """Tell ticks round-robin until `TELLS` are sent or `TELL_SECONDS` have passed; how many."""
    n = len(refs)
    sent = 0
    while sent < TELLS and time.perf_counter() - started < TELL_SECONDS:
        block_end = min(sent + TELL_BLOCK, TELLS)
        for i in range(sent, block_end):
            refs[i % n].tell(TICK)
        sent = block_end
    return sent


def tell_rate(sent: int, counts: list[Any], elapsed: float) -> tuple[float, int]:
    """(tells per second, tells sent), once the actors' counts add up to what was sent."""
    if sum(counts) != sent:
        msg = f"actors counted {sum(counts)} tells, {sent} were sent"
        raise RuntimeError(msg)
    return sent / elapsed, sent


# --- loop-hosted actors ---------------------------------------------------------------------


async def loop_round_trip(refs: Refs, message: int) -> list[Any]:
    """Ask every actor `message`, `BATCH` asks in flight at a time; return the answers."""
    answers: list[Any] = []
    for first in range(0, len(refs), BATCH):
        futures = [ref.ask(message, block=False) for ref in refs[first : first + BATCH]]
        for future in futures:
            answers.append(await answer(future, timeout=ASK_TIMEOUT))
    return answers


async def loop_tells_per_second(refs: Refs) -> tuple[float, int]:
    """Tell ticks round-robin, then collect every count: (tells/s, ask round included; sent)."""
    started = time.perf_counter()
    sent = send_tells(refs, started)
    counts = await loop_round_trip(refs, TAKE)
    return tell_rate(sent, counts, time.perf_counter() - started)


async def loop_ask_latencies(refs: Refs, rng: random.Random) -> list[float]:
    """Seconds taken by each of `SEQUENTIAL_ASKS` one-at-a-time asks to random actors."""
    latencies: list[float] = []
    for _ in range(SEQUENTIAL_ASKS):
        ref = refs[rng.randrange(len(refs))]
        started = time.perf_counter()
        await ask(ref, PING, timeout=ASK_TIMEOUT)
        latencies.append(time.perf_counter() - started)
    return latencies


class LagSampler:
    """Runs a `LAG_TIMER_SECONDS` timer and records how late the loop fires it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lags: list[float] = []
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Arm the timer."""
        self._arm()

    def _arm(self) -> None:
        due = self.loop.time() + LAG_TIMER_SECONDS
        self._handle = self.loop.call_at(due, self._fire, due)

    def _fire(self, due: float) -> None:
        self.lags.append(self.loop.time() - due)
        self._arm()

    def stop(self) -> None:
        """Disarm the timer."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class Countdown:
    """Sets `done` once every one of `count` client tasks has its answer."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.done = asyncio.Event()
        self.errors: list[Exception] = []

    async def client(self, ref: pykka.ActorRef[Any]) -> None:
        """One client: ask `ref`, then count down."""
        try:
            await ask(ref, PING, timeout=ASK_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - raised once every client is done
            self.errors.append(exc)
        self.left -= 1
        if self.left == 0:
            self.done.set()


async def loop_lag_under_asks(
    refs: Refs, rng: random.Random, *, collect_garbage: bool
) -> tuple[float, float, int]:
    """Loop lag while `CONCURRENT_ASKS` asks are in flight: (p99 s, max s, samples).

    Unless `collect_garbage`, the cyclic garbage collector is paused for the window.
    """
    countdown = Countdown(CONCURRENT_ASKS)
    sampler = LagSampler(asyncio.get_running_loop())
    clients: list[asyncio.Task[None]] = []
    if not collect_garbage:
        gc.collect()
        gc.disable()
    sampler.start()
    try:
        for i in range(CONCURRENT_ASKS):
            ref = refs[rng.randrange(len(refs))]
            clients.append(asyncio.create_task(countdown.client(ref)))
            if i % TASKS_PER_TURN == TASKS_PER_TURN - 1:
                await asyncio.sleep(0)
        await countdown.done.wait()
    finally:
        sampler.stop()
        gc.enable()
    if countdown.errors:
        raise countdown.errors[0]
    lags = sampler.lags or [0.0]
    return percentile(lags, 99), max(lags), len(sampler.lags)


async def start_loop_actors(
    runtime: LoopRuntime, n: int, freezer: HeapFreezer | None
) -> list[pykka.ActorRef[Any]]:
    """Start `n` loop actors `BATCH` at a time, each batch answering a ping before the next
    starts; `freezer` (if any) is told of every start, as the supervisor tells it."""
    refs: list[pykka.ActorRef[Any]] = []
    for first in range(0, n, BATCH):
        names = [f"a{i}" for i in range(first, min(n, first + BATCH))]
        batch = [LoopCounter.start(runtime=runtime, name=name) for name in names]
        if freezer is not None:
            for _ in batch:
                freezer.launched()
        refs.extend(batch)
        await loop_round_trip(batch, PING)
    return refs


async def run_loop_case(kind: str, n: int) -> dict[str, Any]:
    """Start `n` loop actors, measure their memory, then time them `REPEATS` times."""
    loop = asyncio.get_running_loop()
    runtime = LoopRuntime(loop)
    freezer = None
    if kind == "loop-gc":
        gc.set_threshold(*GC_THRESHOLDS)
        freezer = HeapFreezer(loop.call_later)
    rng = random.Random(n)  # noqa: S311 - picks actors, not secrets
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    refs = await start_loop_actors(runtime, n, freezer)
    start_seconds = time.perf_counter() - started
    gc.collect()
    after = rss_bytes()
    await loop_lag_under_asks(refs, rng, collect_garbage=False)  # warm-up, not reported
    runs: list[dict[str, float]] = []
    for _ in range(REPEATS):
        tells, sent = await loop_tells_per_second(refs)
        latencies = await loop_ask_latencies(refs, rng)
        lag_p99, lag_max, samples = await loop_lag_under_asks(refs, rng, collect_garbage=False)
        gc_lag_p99, gc_lag_max, _ = await loop_lag_under_asks(refs, rng, collect_garbage=True)
        runs.append(
            {
                "tells_per_s": tells,
                "tells_sent": sent,
                "ask_p50_us": percentile(latencies, 50) * 1e6,
                "ask_p99_us": percentile(latencies, 99) * 1e6,
                "loop_lag_p99_ms": lag_p99 * 1e3,
                "loop_lag_max_ms": lag_max * 1e3,
                "loop_lag_samples": samples,
                "loop_lag_p99_gc_on_ms": gc_lag_p99 * 1e3,
                "loop_lag_max_gc_on_ms": gc_lag_max * 1e3,
            }
        )
    result = case_result(kind, n, before, after, start_seconds, runs)
    result["heap_freezes"] = freezer.freezes if freezer is not None else 0
    return result


# --- thread-per-actor actors ----------------------------------------------------------------


def thread_round_trip(refs: Refs, message: int) -> list[Any]:
    """Ask every actor `message`, `BATCH` asks in flight at a time, blocking on each answer."""
    answers: list[Any] = []
    for first in range(0, len(refs), BATCH):
        futures = [ref.ask(message, block=False) for ref in refs[first : first + BATCH]]
        answers.extend(future.get(timeout=ASK_TIMEOUT) for future in futures)
    return answers


def thread_tells_per_second(refs: Refs) -> tuple[float, int]:
    """Tell ticks round-robin, then collect every count: (tells/s, ask round included; sent)."""
    started = time.perf_counter()
    sent = send_tells(refs, started)
    counts = thread_round_trip(refs, TAKE)
    return tell_rate(sent, counts, time.perf_counter() - started)


def thread_ask_latencies(refs: Refs, rng: random.Random) -> list[float]:
    """Seconds taken by each of `SEQUENTIAL_ASKS` blocking asks to random actors."""
    latencies: list[float] = []
    for _ in range(SEQUENTIAL_ASKS):
        ref = refs[rng.randrange(len(refs))]
        started = time.perf_counter()
        ref.ask(PING, timeout=ASK_TIMEOUT)
        latencies.append(time.perf_counter() - started)
    return latencies


def run_thread_case(n: int) -> dict[str, Any]:
    """Start `n` thread actors, measure their memory, then time them `REPEATS` times."""
    rng = random.Random(n)  # noqa: S311 - picks actors, not secrets
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    refs = [ThreadCounter.start() for _ in range(n)]
    thread_round_trip(refs, PING)
    start_seconds = time.perf_counter() - started
    gc.collect()
    after = rss_bytes()
    runs: list[dict[str, float]] = []
    for _ in range(REPEATS):
        tells, sent = thread_tells_per_second(refs)
        latencies = thread_ask_latencies(refs, rng)
        runs.append(
            {
                "tells_per_s": tells,
                "tells_sent": sent,
                "ask_p50_us": percentile(latencies, 50) * 1e6,
                "ask_p99_us": percentile(latencies, 99) * 1e6,
            }
        )
    return case_result("thread", n, before, after, start_seconds, runs)


# --- one case, in its own process -----------------------------------------------------------


def case_result(
    kind: str,
    n: int,
    before: int,
    after: int,
    start_seconds: float,
    runs: list[dict[str, float]],
) -> dict[str, Any]:
    """The JSON-ready result of one case: memory, medians of the runs, and the runs."""
    return {
        "kind": kind,
        "n": n,
        "status": "ok",
        "memory_per_actor_kb": (after - before) / n / 1024,
        "rss_before_mb": before / 2**20,
        "rss_after_mb": after / 2**20,
        "start_seconds": start_seconds,
        **medians(runs),
        "tells_capped": any(run["tells_sent"] < TELLS for run in runs),
        "runs": runs,
    }


def run_case(kind: str, n: int) -> None:
    """Run one case in this process and print its result as one JSON line."""
    raise_nofile_limit()
    started = time.perf_counter()
    if kind in LOOP_KINDS:
        watch = GcWatch()
        gc.callbacks.append(watch)
        result = asyncio.run(run_loop_case(kind, n))
        gc.callbacks.remove(watch)
        result["gc_worst_pause_ms"] = watch.worst * 1e3
        result["gc_worst_generation"] = watch.worst_generation
        result["gc_collections"] = watch.collections
    else:
        result = run_thread_case(n)
        result["gc_worst_pause_ms"] = None
    result["case_seconds"] = time.perf_counter() - started
    print(json.dumps(result), flush=True)
    # Skip tearing down thousands of actors (and threads): the measurements are done.
    os._exit(0)


def spawn_case(kind: str, n: int, timeout: float) -> dict[str, Any]:
    """Run one case in a fresh subprocess; its result, or a "timeout" / "error" record."""
    command = [sys.executable, str(Path(__file__).resolve()), "--case", kind, str(n)]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"kind": kind, "n": n, "status": "timeout", "timeout_seconds": timeout}
    elapsed = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return {"kind": kind, "n": n, "status": "error", "error": "\n".join(tail)}
    result: dict[str, Any] = json.loads(lines[-1])
    result["process_seconds"] = elapsed
    return result


# --- the report -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the benchmark ran on."""
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "pykka": metadata.version("pykka"),
        "platform": platform.platform(),
    }


def fmt(value: Any, spec: str) -> str:
    """Format a number with `spec`, or "—" when there is none."""
    return "—" if value is None else format(value, spec)


def case_row(case: dict[str, Any]) -> str:
    """One line of the results table."""
    head = f"| {case['kind']} | {case['n']:,} |"
    if case["status"] != "ok":
        return head + f" {case['status']} |" * 6
    cells = [
        fmt(case["memory_per_actor_kb"], ".2f"),
        fmt(case["tells_per_s"], ",.0f") + ("*" if case["tells_capped"] else ""),
        fmt(case["ask_p50_us"], ",.1f"),
        fmt(case["ask_p99_us"], ",.1f"),
        fmt(case.get("loop_lag_p99_ms"), ".2f"),
        fmt(case.get("gc_worst_pause_ms"), ".2f"),
    ]
    return head + "".join(f" {cell} |" for cell in cells)


def ratios(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Loop-vs-threading ratios (loop ÷ thread) at each N both kinds ran at."""
    by_key = {(case["kind"], case["n"]): case for case in cases}
    rows: list[dict[str, Any]] = []
    for n in THREAD_SIZES:
        loop, thread = by_key.get(("loop", n)), by_key.get(("thread", n))
        row: dict[str, Any] = {"n": n}
        if loop and thread and loop["status"] == thread["status"] == "ok":
            row["memory"] = loop["memory_per_actor_kb"] / thread["memory_per_actor_kb"]
            row["tells_per_s"] = loop["tells_per_s"] / thread["tells_per_s"]
            row["ask_p50"] = loop["ask_p50_us"] / thread["ask_p50_us"]
        rows.append(row)
    return rows


def gc_rows(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per N, the collector's figures of `loop` and `loop-gc` side by side."""
    rows: list[dict[str, Any]] = []
    for n in LOOP_SIZES:
        row: dict[str, Any] = {"n": n}
        for case in cases:
            if case["n"] == n and case["kind"] in LOOP_KINDS and case["status"] == "ok":
                kind = case["kind"]
                row[f"worst_{kind}"] = case["gc_worst_pause_ms"]
                row[f"lag_{kind}"] = case["loop_lag_p99_gc_on_ms"]
                row[f"collections_{kind}"] = case["gc_collections"]
                row[f"freezes_{kind}"] = case["heap_freezes"]
        rows.append(row)
    return rows


def report(info: dict[str, Any], cases: list[dict[str, Any]], total: float) -> dict[str, Any]:
    """Print both tables and their notes; return everything for the JSON file."""
    print()
    print(
        "| kind | N | memory/actor (KB) | tells/s | ask p50 (µs) | ask p99 (µs) "
        "| loop lag p99 under 10k asks (ms) | worst GC pause (ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for case in cases:
        print(case_row(case))
    print()
    print(
        f"Medians of {REPEATS} runs. tells/s: {TELLS:,} tells round-robin, then one ask per actor "
        "collecting the counts, that ask round included in the timing; * = sending stopped after "
        f"{TELL_SECONDS:.0f} s, rate over the tells sent. Loop lag: lateness of a 2 ms timer, GC "
        "paused for the window as in tests/actors/test_runtime.py. Worst GC pause: whole case."
    )
    print()
    print("Garbage collector: default (loop) vs the hub's tuning (loop-gc), same run:")
    print()
    print(
        "| N | worst GC pause (ms) | loop lag p99 under 10k asks, GC running (ms) "
        "| collections | heap freezes |"
    )
    print("|---:|---:|---:|---:|---:|")
    rows_gc = gc_rows(cases)
    for row in rows_gc:
        cells = [
            f"{fmt(row.get(f'{key}_loop'), spec)} → {fmt(row.get(f'{key}_loop-gc'), spec)}"
            for key, spec in (("worst", ".1f"), ("lag", ".1f"), ("collections", ","))
        ]
        cells.append(fmt(row.get("freezes_loop-gc"), ","))
        print(f"| {row['n']:,} |" + "".join(f" {cell} |" for cell in cells))
    print()
    print("Loop vs threading (loop ÷ thread: memory and p50 lower is better, tells/s higher):")
    print()
    print("| N | memory ratio | tells/s ratio | ask p50 ratio |")
    print("|---:|---:|---:|---:|")
    rows = ratios(cases)
    for row in rows:
        cells = [fmt(row.get(key), ".3f") for key in ("memory", "tells_per_s", "ask_p50")]
        print(f"| {row['n']:,} |" + "".join(f" {cell} |" for cell in cells))
    print()
    print(f"Total runtime: {total:.1f} s")
    return {
        "machine": info,
        "settings": {
            "tells": TELLS,
            "tell_seconds_cap": TELL_SECONDS,
            "tells_timing_includes_final_ask_round": True,
            "sequential_asks": SEQUENTIAL_ASKS,
            "concurrent_asks": CONCURRENT_ASKS,
            "lag_timer_ms": LAG_TIMER_SECONDS * 1e3,
            "repeats": REPEATS,
            "case_timeout_s": CASE_TIMEOUT,
            "gc_thresholds_tuned": GC_THRESHOLDS,
        },
        "cases": cases,
        "ratios_loop_over_thread": rows,
        "gc_default_vs_tuned": rows_gc,
        "total_seconds": total,
    }


def main() -> None:
    """Run every case in a subprocess of its own, print the tables and save the JSON."""
    started = time.perf_counter()
    raise_nofile_limit()
    info = machine()
    print(
        f"# Actor runtime benchmark: nproc {info['nproc']}, Python {info['python']}, "
        f"pykka {info['pykka']} ({info['platform']})",
        flush=True,
    )
    plan = [(kind, n) for n in LOOP_SIZES for kind in LOOP_KINDS]
    plan += [("thread", n) for n in THREAD_SIZES]
    cases: list[dict[str, Any]] = []
    for kind, n in plan:
        remaining = TOTAL_BUDGET - (time.perf_counter() - started)
        if remaining < 5:
            cases.append({"kind": kind, "n": n, "status": "skipped"})
            continue
        print(f"running {kind} N={n:,} ...", end=" ", file=sys.stderr, flush=True)
        case = spawn_case(kind, n, min(CASE_TIMEOUT, remaining))
        seconds = case.get("process_seconds")
        print(case["status"], fmt(seconds, ".1f"), "s", file=sys.stderr, flush=True)
        cases.append(case)
    total = time.perf_counter() - started
    results = report(info, cases, total)
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"Results written to {RESULTS_PATH.relative_to(REPO_ROOT)}")


def parse_args() -> argparse.Namespace:
    """The command line: nothing for the full run, `--case KIND N` for one case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--case",
        nargs=2,
        metavar=("KIND", "N"),
        help="run one case (KIND: loop, loop-gc or thread) in this process and print it as JSON",
    )
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.case:
        case_kind, case_n = arguments.case
        if case_kind not in (*LOOP_KINDS, "thread"):
            sys.exit(f"unknown kind {case_kind!r}: loop, loop-gc or thread")
        run_case(case_kind, int(case_n))
    else:
        main()
