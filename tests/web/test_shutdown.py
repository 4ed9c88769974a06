"""The hub as a user runs it: `python -m web` starts, serves, and exits 0 on SIGTERM in time."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_healthz(url: str, cafile: Path, process: subprocess.Popen[bytes]) -> None:
    """Poll /healthz until it answers 200, failing early if the hub died (bounded: 20 s)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"hub exited early with {process.returncode}")
        if cafile.exists():
            try:
                context = ssl.create_default_context(cafile=str(cafile))
                with urllib.request.urlopen(url, context=context, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
        time.sleep(0.05)  # polling a separate process: there is no event to await
    pytest.fail("hub never answered /healthz")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_hub_cleanly_within_the_deadline(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """On SIGTERM or SIGINT the hub logs each stopped actor and exits 0 within 10 seconds."""
    port = free_port()
    env = {**os.environ, "MYKERIO_LOG_FORMAT": "json", "MYKERIO_SERVER_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "web", "--data-dir", str(tmp_path / "data")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_healthz(
            f"https://localhost:{port}/healthz", tmp_path / "data" / "tls" / "cert.pem", process
        )
        started = time.monotonic()
        process.send_signal(signum)
        output, _ = process.communicate(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = [json.loads(line) for line in output.decode().splitlines() if line.startswith("{")]
    assert process.returncode == 0
    assert elapsed < 10
    stopped = [line for line in lines if line["event"] == "actor stopped"]
    # Reverse start order: backups, gate, accounts workers, housekeeping, the notifier, the
    # webhooks, the relay, the mailer, health.
    assert [line["actor"] for line in stopped] == [
        "backups",
        "gate",
        *(f"accounts:{n}" for n in reversed(range(8))),
        "housekeeping",
        "notifier",
        "webhooks",
        "relay",
        "mailer",
        "health",
    ]
    assert any(line["event"] == "hub stopped" for line in lines)
    requests = [line for line in lines if line["event"] == "request"]
    assert requests
    assert all(len(line["request_id"]) >= 8 for line in requests)
    assert all(line["level"] for line in lines)


def test_unknown_setting_stops_start_up_with_a_hint(tmp_path: Path) -> None:
    """A misspelt MYKERIO_ variable makes `mykerio serve` exit 2 and suggest the right name."""
    env = {**os.environ, "MYKERIO_SERVER_PROT": "9000"}
    result = subprocess.run(
        [sys.executable, "-m", "web", "--data-dir", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert b"did you mean 'MYKERIO_SERVER_PORT'" in result.stderr
    assert not (tmp_path / "data").exists()
