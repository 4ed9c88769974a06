"""Shutdown benchmark: `Supervisor.stop_all` with N appliance-like actors, one by one vs batched.

What the hub has at shutdown, minus the sockets: 12 long-lived actors started first (health,
mailer, housekeeping, 8 accounts workers, gate), then 100 organization actors, then N
appliance-like leaves (N = 1,000 / 10,000 / 20,000). A leaf is an `ApplianceActor` stand-in: it
arms a 30 s ping timer when it starts, and its `on_stop` cancels the timer and closes its link (a
no-op here); its class sets `stop_together`, as `ApplianceActor` does. Every actor is a
supervisor child; logs are JSON lines at info level written to a file, as in production.

Two ways of stopping, in the same run:

- `sequential`: the former `stop_all`: every child in reverse start order, each one asked to
  stop and awaited (with what is left of the deadline) before the next, one `actor stopped` line
  per actor. Written here with the supervisor's public `stop_child`, which does exactly that.
- `batched`: today's `Supervisor.stop_all`: the same order, but a run of consecutive leaves of one
  `stop_together` kind is asked to stop at once and awaited together, with one `actors stopped`
  line for the batch.

Per run: seconds from calling the stop until it returns (deadline 60 s, so nothing is cut
short), and the longest stall of the event loop meanwhile (how late a 2 ms timer fires). Each
(way, N, repeat) runs in a fresh subprocess (`python bench/shutdown.py --case WAY N`), the two
ways alternating, `REPEATS` times; medians are reported, and everything is written to
bench/results/shutdown.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# `python bench/shutdown.py` puts bench/ first on sys.path, where bench/actors.py would shadow
# the `actors` package: put the repository root there instead.
sys.path[:] = [entry for entry in sys.path if Path(entry or os.curdir).resolve() != BENCH_DIR]
sys.path.insert(0, str(REPO_ROOT))

from actors.runtime import LoopActor, LoopRuntime  # noqa: E402
from actors.supervisor import Supervisor  # noqa: E402
from mykerio.logs import configure_logging  # noqa: E402

SIZES = (1_000, 10_000, 20_000)
WAYS = ("sequential", "batched")
FIXED_KEYS = ("health", "mailer", "housekeeping", *(f"accounts:{n}" for n in range(8)), "gate")
ORGANIZATIONS = 100
REPEATS = 3
DEADLINE = 60.0
PING_SECONDS = 30.0
LAG_TIMER_SECONDS = 0.002
CASE_TIMEOUT = 120.0
RESULTS_PATH = BENCH_DIR / "results" / "shutdown.json"


class Service(LoopActor):
    """A long-lived actor (organization, mailer, ...): stopped on its own, in order."""

    kind = "service"


class Countdown:
    """Sets `done` once `count` actors have started."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.done = asyncio.Event()

    def arrived(self) -> None:
        """One more actor ran its `on_start`."""
        self.left -= 1
        if self.left == 0:
            self.done.set()


class ApplianceLike(LoopActor):
    """An `ApplianceActor` stand-in: a ping timer and a link to close when it stops."""

    kind = "appliance"
    stop_together = True

    def __init__(self, *, started: Countdown, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._started = started
        self._timer: asyncio.TimerHandle | None = None

    def on_start(self) -> None:
        """Arm the ping timer."""
        self._timer = self.runtime.loop.call_later(PING_SECONDS, lambda: None)
        self._started.arrived()

    def on_stop(self) -> None:
        """Stop pinging and close the link (nothing to close here)."""
        if self._timer is not None:
            self._timer.cancel()
        self.close_link()

    def close_link(self) -> None:
        """What `Link.close` costs the actor: a call."""


async def stop_one_by_one(supervisor: Supervisor, deadline: float) -> list[str]:
    """The former `stop_all`: each child stopped and awaited before the next."""
    supervisor.running = False
    end = time.monotonic() + deadline
    keys = list(supervisor.keys())
    for index, key in enumerate(reversed(keys)):
        remaining = end - time.monotonic()
        if remaining <= 0:
            return list(reversed(keys))[index:]
        await supervisor.stop_child(key, timeout=remaining)
    return []


class StallWatch:
    """Fires a `LAG_TIMER_SECONDS` timer and keeps the latest it ran."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.worst = 0.0
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Arm the timer."""
        due = self.loop.time() + LAG_TIMER_SECONDS
        self._handle = self.loop.call_at(due, self._fire, due)

    def _fire(self, due: float) -> None:
        self.worst = max(self.worst, self.loop.time() - due)
        self.start()

    def stop(self) -> None:
        """Disarm the timer."""
        if self._handle is not None:
            self._handle.cancel()


async def run_case(way: str, n: int) -> dict[str, Any]:
    """Start the children, let them settle, then time one shutdown."""
    loop = asyncio.get_running_loop()
    supervisor = Supervisor(LoopRuntime(loop))
    for key in FIXED_KEYS:
        supervisor.start(key, Service)
    for index in range(ORGANIZATIONS):
        supervisor.start(f"org:{index}", Service)
    started = Countdown(n)
    for index in range(n):
        supervisor.start(f"appliance:{index}", ApplianceLike, restart=False, started=started)
    await started.done.wait()
    gc.collect()
    watch = StallWatch(loop)
    watch.start()
    begun = time.perf_counter()
    if way == "batched":
        left = await supervisor.stop_all(DEADLINE)
    else:
        left = await stop_one_by_one(supervisor, DEADLINE)
    seconds = time.perf_counter() - begun
    await asyncio.sleep(2 * LAG_TIMER_SECONDS)  # let the timer report the last stall
    watch.stop()
    if left or supervisor.runtime.live:
        msg = f"{len(left)} children not stopped, {len(supervisor.runtime.live)} actors alive"
        raise RuntimeError(msg)
    return {"way": way, "n": n, "seconds": seconds, "worst_stall_ms": watch.worst * 1e3}


def run_case_here(way: str, n: int) -> None:
    """The `--case` subprocess: JSON logs to a temporary file, one result line on stdout."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log_file:
        configure_logging("json", "info", stream=log_file)
        result = asyncio.run(run_case(way, n))
        log_file.seek(0)
        result["log_lines"] = sum(1 for _ in log_file)
    print(json.dumps(result), flush=True)


def spawn_case(way: str, n: int) -> dict[str, Any]:
    """Run one case in a fresh subprocess and return its result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--case", way, str(n)]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=CASE_TIMEOUT, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        msg = f"case {way} {n} failed:\n{tail}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> None:
    """Run every case `REPEATS` times, the two ways alternating; print the table."""
    started = time.perf_counter()
    print(
        f"# Shutdown benchmark: nproc {len(os.sched_getaffinity(0))}, Python "
        f"{platform.python_version()} ({platform.platform()})",
        flush=True,
    )
    runs: list[dict[str, Any]] = []
    for n in SIZES:
        for _ in range(REPEATS):
            for way in WAYS:
                print(f"running {way} N={n:,} ...", end=" ", file=sys.stderr, flush=True)
                run = spawn_case(way, n)
                print(f"{run['seconds']:.2f} s", file=sys.stderr, flush=True)
                runs.append(run)
    rows = []
    for n in SIZES:
        row: dict[str, Any] = {"n": n}
        for way in WAYS:
            mine = [run for run in runs if run["n"] == n and run["way"] == way]
            row[f"{way}_seconds"] = statistics.median(run["seconds"] for run in mine)
            row[f"{way}_stall_ms"] = statistics.median(run["worst_stall_ms"] for run in mine)
            row[f"{way}_log_lines"] = mine[0]["log_lines"]
        rows.append(row)
    print()
    print(
        "| N leaves | sequential (s) | batched (s) | speed-up | worst loop stall seq / "
        "batched (ms) | log lines seq / batched |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['n']:,} | {row['sequential_seconds']:.3f} | {row['batched_seconds']:.3f} "
            f"| {row['sequential_seconds'] / row['batched_seconds']:.1f}x "
            f"| {row['sequential_stall_ms']:.1f} / {row['batched_stall_ms']:.1f} "
            f"| {row['sequential_log_lines']:,} / {row['batched_log_lines']:,} |"
        )
    print()
    print(
        f"Medians of {REPEATS} runs, each in a fresh process; besides the N leaves, "
        f"{len(FIXED_KEYS)} service actors and {ORGANIZATIONS} organizations are stopped one by "
        "one in both ways. JSON info logs to a file."
    )
    total = time.perf_counter() - started
    print(f"Total runtime: {total:.1f} s")
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(
        json.dumps({"rows": rows, "runs": runs, "total_seconds": total}, indent=2) + "\n",
        encoding="utf-8",
    )
    print(f"Results written to {RESULTS_PATH.relative_to(REPO_ROOT)}")


def parse_args() -> argparse.Namespace:
    """The command line: nothing for the full run, `--case WAY N` for one run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--case", nargs=2, metavar=("WAY", "N"), help="sequential or batched")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.case:
        case_way, case_n = arguments.case
        if case_way not in WAYS:
            sys.exit(f"unknown way {case_way!r}: sequential or batched")
        run_case_here(case_way, int(case_n))
    else:
        main()
