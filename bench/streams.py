"""Protocol v2 stream benchmark: bytes through one stream against a bare Tornado websocket.

A server process (`python bench/streams.py --serve`) listens on loopback with two routes:

- `/bare`: a bare Tornado `WebSocketHandler` that counts the bytes of binary messages and
  answers `done` once it has the announced total: the baseline;
- `/mux`: the hub's side of a v2 link (`mykerio.protocol.stream_link.StreamLink`) that accepts
  streams, reads each to its end (granting credit as it reads) and answers `done` per stream.
  JSON `ping`s are answered with `pong` in the link's control lane.

The client (this process) measures, each repeated `REPEATS` times, medians reported:

- throughput: `TOTAL` bytes appliance → hub, in 256 KiB messages on `/bare` (each
  `write_message` awaited, as a careful sender does) and through one stream on `/mux`
  (`Stream.write` of 256 KiB chunks, sent as 64 KiB frames, the default); MB/s = 10**6 bytes
  per second, clock from the first byte to the server's `done`;
- control latency: `PINGS` ping → pong round trips on `/mux`, one at a time, idle and then while
  4 streams each push bytes as fast as their credit lets them; p50/p99 and the ratio
  loaded p99 / idle p99.

Targets (issue 10): stream throughput ≥ 0.8 of bare and ≥ 50 MB/s; loaded p99 ≤ 2 times idle p99.
Results go to stdout as a table and to bench/results/streams.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, progress
from mykerio.protocol.stream_link import Stream, StreamError, StreamLink, keep_unsent_small
from mykerio.protocol.streams import StreamMux

TOTAL = int(os.environ.get("BENCH_STREAM_BYTES", 256 * 1024 * 1024))
CHUNK = 256 * 1024 - 8  # a frame's payload with its 8-byte header: one 256 KiB message
REPEATS = int(os.environ.get("BENCH_REPEATS", 5))
PINGS = 500
LOADED_STREAMS = 4
WINDOW = 4 * 1024 * 1024
MAX_MESSAGE = 256 * 1024
RESULTS = Path(__file__).resolve().parent / "results" / "streams.json"


class BareSocket(tornado.websocket.WebSocketHandler):
    """Counts binary bytes; `expect N` starts a count, `done` answers when N have come."""

    def open(self, *args: str, **kwargs: str) -> None:
        self.expected = 0
        self.received = 0

    def on_message(self, message: str | bytes) -> None:
        if isinstance(message, str):
            self.expected, self.received = int(message.split()[1]), 0
            return
        self.received += len(message)
        if self.received >= self.expected:
            self.write_message("done")


class MuxSocket(tornado.websocket.WebSocketHandler):
    """The hub side of a v2 link: reads every stream to its end."""

    def open(self, *args: str, **kwargs: str) -> None:
        self.tasks: set[asyncio.Future[None]] = set()
        assert self.ws_connection is not None
        assert self.ws_connection.stream is not None
        keep_unsent_small(self.ws_connection.stream.socket)
        self.link = StreamLink(
            StreamMux("hub", window=WINDOW, max_streams=16),
            lambda message, binary: self.write_message(message, binary=binary),
            on_open=self._on_open,
        )
        self.link.start()

    def _on_open(self, stream: Stream, meta: Mapping[str, object]) -> None:
        self.link.accept(stream)
        self._keep(asyncio.ensure_future(self._drain(stream)))

    def _keep(self, task: asyncio.Future[None]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _drain(self, stream: Stream) -> None:
        if stream.kind == "stalled":
            return  # never read: its window fills and stays full
        total = 0
        try:
            while chunk := await stream.read():
                total += len(chunk)
        except StreamError:
            return  # the client hung up mid-stream (the loaded-latency runs end so)
        self.link.send_control(json.dumps({"type": "done", "body": {"bytes": total}}))

    def on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self.link.receive_binary(message)
            return
        envelope = json.loads(message)
        if envelope["type"] == "ping":
            self.link.send_control(json.dumps({"type": "pong", "body": envelope["body"]}))
        else:
            self.link.receive_control(envelope["type"], envelope["body"])

    def on_close(self) -> None:
        self._keep(asyncio.ensure_future(self.link.stop()))


async def serve() -> None:
    app = tornado.web.Application(
        [("/bare", BareSocket), ("/mux", MuxSocket)], websocket_max_message_size=MAX_MESSAGE
    )
    server = tornado.httpserver.HTTPServer(app)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    print(sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


async def bare_throughput(port: int) -> float:
    done: asyncio.Queue[str] = asyncio.Queue()

    def on_message(message: str | bytes | None) -> None:
        if message is not None:
            done.put_nowait(str(message))

    connection = await tornado.websocket.websocket_connect(
        f"ws://127.0.0.1:{port}/bare",
        on_message_callback=on_message,
        max_message_size=MAX_MESSAGE,
    )
    chunk = os.urandom(MAX_MESSAGE)
    await connection.write_message(f"expect {TOTAL}")
    started = time.perf_counter()
    for _ in range(TOTAL // len(chunk)):
        await connection.write_message(chunk, binary=True)
    await asyncio.wait_for(done.get(), timeout=120)
    elapsed = time.perf_counter() - started
    connection.close()
    return TOTAL / elapsed / 1e6


class MuxClient:
    """The appliance side of a v2 link to `/mux`."""

    def __init__(self) -> None:
        self.pongs: asyncio.Queue[float] = asyncio.Queue()
        self.done: asyncio.Queue[int] = asyncio.Queue()
        self.link: StreamLink | None = None

    async def connect(self, port: int) -> None:
        self.connection = await tornado.websocket.websocket_connect(
            f"ws://127.0.0.1:{port}/mux",
            on_message_callback=self._on_message,
            max_message_size=MAX_MESSAGE,
        )
        keep_unsent_small(self.connection.stream.socket)
        self.link = StreamLink(
            StreamMux("appliance", window=WINDOW),
            lambda message, binary: self.connection.write_message(message, binary=binary),
        )
        self.link.start()

    def _on_message(self, message: str | bytes | None) -> None:
        if message is None or self.link is None:
            return
        if isinstance(message, bytes):
            self.link.receive_binary(message)
            return
        envelope = json.loads(message)
        if envelope["type"] == "pong":
            self.pongs.put_nowait(time.perf_counter() - envelope["body"]["sent"])
        elif envelope["type"] == "done":
            self.done.put_nowait(envelope["body"]["bytes"])
        else:
            self.link.receive_control(envelope["type"], envelope["body"])

    async def send_stream(self, total: int, chunk: bytes, kind: str = "bench") -> None:
        assert self.link is not None
        stream = self.link.open(kind)
        await stream.accepted()
        sent = 0
        while sent < total:
            await stream.write(chunk)
            sent += len(chunk)
        stream.close()

    async def ping(self) -> float:
        assert self.link is not None
        self.link.send_control(json.dumps({"type": "ping", "body": {"sent": time.perf_counter()}}))
        return await asyncio.wait_for(self.pongs.get(), timeout=30)

    async def close(self) -> None:
        if self.link is not None:
            await self.link.stop()
        self.connection.close()


async def mux_throughput(port: int) -> float:
    client = MuxClient()
    await client.connect(port)
    chunk = os.urandom(CHUNK)
    total = (TOTAL // CHUNK) * CHUNK
    started = time.perf_counter()
    await client.send_stream(total, chunk)
    received = await asyncio.wait_for(client.done.get(), timeout=120)
    elapsed = time.perf_counter() - started
    assert received == total, (received, total)
    await client.close()
    return total / elapsed / 1e6


async def control_latency(port: int, kind: str) -> tuple[list[float], list[float]]:
    """Ping round trips idle, then with 4 streams of `kind`: `bench` streams move bytes as fast
    as the hub reads them; `stalled` streams are never read, so their windows stay full."""
    client = MuxClient()
    await client.connect(port)
    idle = [await client.ping() for _ in range(PINGS)]
    chunk = os.urandom(CHUNK)
    senders = [
        asyncio.ensure_future(client.send_stream(1 << 40, chunk, kind))
        for _ in range(LOADED_STREAMS)
    ]
    for _ in range(20):
        await client.ping()  # let the streams get going
    loaded = [await client.ping() for _ in range(PINGS)]
    for sender in senders:
        sender.cancel()
    await asyncio.gather(*senders, return_exceptions=True)
    await client.close()
    return idle, loaded


async def measure(port: int) -> dict[str, object]:
    bare: list[float] = []
    mux: list[float] = []
    latency: dict[str, list[float]] = {}
    for repeat in range(REPEATS):
        progress(f"repeat {repeat + 1}/{REPEATS}")
        bare.append(await bare_throughput(port))
        mux.append(await mux_throughput(port))
        for kind in ("stalled", "bench"):
            idle, loaded = await control_latency(port, kind)
            for name, values in (("idle", idle), (kind, loaded)):
                for q in (50, 99):
                    latency.setdefault(f"{name}_{kind}_p{q}", []).append(
                        percentile(values, q) * 1000
                    )
    median = statistics.median
    result: dict[str, object] = {
        "total_bytes": TOTAL,
        "repeats": REPEATS,
        "bare_mb_s": round(median(bare), 1),
        "stream_mb_s": round(median(mux), 1),
        "throughput_ratio": round(median(mux) / median(bare), 3),
        "loaded_streams": LOADED_STREAMS,
    }
    for key, values in sorted(latency.items()):
        result[f"ping_{key}_ms"] = round(median(values), 3)
    for kind in ("stalled", "bench"):
        result[f"latency_ratio_p99_{kind}"] = round(
            median(latency[f"{kind}_{kind}_p99"]) / median(latency[f"idle_{kind}_p99"]), 3
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="run the server side")
    if parser.parse_args().serve:
        asyncio.run(serve())
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        result = asyncio.run(measure(port))
    finally:
        server.terminate()
        server.wait(timeout=10)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print("\nv2 streams, appliance → hub, loopback (medians of", REPEATS, "repeats)")
    print(f"  bare Tornado websocket   {result['bare_mb_s']:>8} MB/s")
    print(
        f"  one v2 stream            {result['stream_mb_s']:>8} MB/s"
        f"   ratio {result['throughput_ratio']} (target >= 0.8, and >= 50 MB/s)"
    )
    for kind, words in (("stalled", "full (unread)"), ("bench", "busy (read at once)")):
        print(
            f"  ping p99 idle {result[f'ping_idle_{kind}_p99_ms']} ms; with {LOADED_STREAMS} "
            f"{words} streams {result[f'ping_{kind}_{kind}_p99_ms']} ms"
            f" (p50 {result[f'ping_{kind}_{kind}_p50_ms']} ms)"
            f"   ratio {result[f'latency_ratio_p99_{kind}']} (target <= 2)"
        )


if __name__ == "__main__":
    main()
