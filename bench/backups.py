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
Results go to stdout as a table and to bench/results/backups.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
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

import tornado.httpclient
import tornado.httpserver
import tornado.web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import progress
from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.models import Appliance, Organization, new_id
from mykerio.protocol.backups import UPLOAD_FRAME_BYTES, UPLOAD_KIND, UploadMeta
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve-bare", nargs=3, metavar=("PORT", "CERT", "KEY"))
    args = parser.parse_args()
    if args.serve_bare:
        port, cert, key = args.serve_bare
        serve_bare(int(port), cert, key)
        return
    result = asyncio.run(run())
    print(f"{'upload':<8} {'socket MB/s':>12} {'HTTPS MB/s':>11} {'ratio':>6}  (target ≥ {TARGET})")
    for name, row in result["uploads"].items():  # type: ignore[attr-defined]
        print(f"{name:<8} {row['socket_mb_s']:>12} {row['https_mb_s']:>11} {row['ratio']:>6}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
