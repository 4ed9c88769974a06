"""Protocol v2 streams over real Tornado websockets on loopback: bytes, back-pressure, lanes.

A small Tornado server plays the hub's side of a link and a Tornado websocket client the
appliance's; both carry their `StreamLink` as the hub's socket code will. Stream control and
data go through the links; a JSON `ping` answered with `pong` stands for the link's control lane.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import pytest
import tornado.httpserver
import tornado.web
import tornado.websocket

from mykerio.protocol.stream_link import Stream, StreamError, StreamLink
from mykerio.protocol.streams import StreamMux

WINDOW = 256 * 1024


@dataclass
class HubSide:
    """What the server side saw: its link and the streams the appliance opened."""

    link: StreamLink | None = None
    opened: asyncio.Queue[Stream] = field(default_factory=asyncio.Queue)
    accept: bool = True


def _dispatch(link: StreamLink, message: str | bytes, on_app: object = None) -> None:
    if isinstance(message, bytes):
        link.receive_binary(message)
        return
    envelope = json.loads(message)
    if envelope["type"].startswith("stream_"):
        link.receive_control(envelope["type"], envelope["body"])
    elif envelope["type"] == "ping":
        link.send_control(json.dumps({"type": "pong", "body": envelope["body"]}))
    elif callable(on_app):
        on_app(envelope)


class HubSocket(tornado.websocket.WebSocketHandler):
    def initialize(self, side: HubSide) -> None:
        self.side = side

    def open(self, *args: str, **kwargs: str) -> None:
        def on_open(stream: Stream, meta: Mapping[str, object]) -> None:
            if self.side.accept:
                assert self.side.link is not None
                self.side.link.accept(stream)
                self.side.opened.put_nowait(stream)
            else:
                assert self.side.link is not None
                self.side.link.refuse(stream, "unsupported")

        self.side.link = StreamLink(
            StreamMux("hub", window=WINDOW),
            lambda message, binary: self.write_message(message, binary=binary),
            on_open=on_open,
        )
        self.side.link.start()

    def on_message(self, message: str | bytes) -> None:
        assert self.side.link is not None
        _dispatch(self.side.link, message)


@dataclass
class Appliance:
    link: StreamLink
    pongs: asyncio.Queue[dict[str, object]]
    connection: tornado.websocket.WebSocketClientConnection


@pytest.fixture
async def hub_side() -> AsyncIterator[tuple[HubSide, int]]:
    side = HubSide()
    app = tornado.web.Application([("/socket", HubSocket, {"side": side})])
    server = tornado.httpserver.HTTPServer(app, max_buffer_size=1024 * 1024)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    yield side, sockets[0].getsockname()[1]
    if side.link is not None:
        await side.link.stop()
    server.stop()
    await server.close_all_connections()


@pytest.fixture
async def appliance(hub_side: tuple[HubSide, int]) -> AsyncIterator[Appliance]:
    _side, port = hub_side
    pongs: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    holder: list[StreamLink] = []

    def on_message(message: str | bytes | None) -> None:
        if message is not None and holder:
            _dispatch(holder[0], message, on_app=pongs.put_nowait)

    connection = await tornado.websocket.websocket_connect(
        f"ws://127.0.0.1:{port}/socket", on_message_callback=on_message
    )
    link = StreamLink(
        StreamMux("appliance", window=WINDOW),
        lambda message, binary: connection.write_message(message, binary=binary),
    )
    holder.append(link)
    link.start()
    yield Appliance(link, pongs, connection)
    await link.stop()
    connection.close()


async def _read_all(stream: Stream) -> bytes:
    chunks = []
    while chunk := await stream.read():
        chunks.append(chunk)
    return b"".join(chunks)


async def _ping_round_trip(appliance: Appliance, tag: str) -> None:
    appliance.link.send_control(json.dumps({"type": "ping", "body": {"tag": tag}}))
    pong = await asyncio.wait_for(appliance.pongs.get(), timeout=5)
    assert pong == {"type": "pong", "body": {"tag": tag}}


async def test_eight_megabytes_arrive_intact_and_in_order(
    hub_side: tuple[HubSide, int], appliance: Appliance
) -> None:
    side, _port = hub_side
    payload = bytes(range(256)) * (8 * 4096)  # 8 MiB
    sent = appliance.link.open("backups", {"size": len(payload)})
    await asyncio.wait_for(sent.accepted(), timeout=5)
    received = await asyncio.wait_for(side.opened.get(), timeout=5)

    async def send() -> None:
        for start in range(0, len(payload), 100_000):
            await sent.write(payload[start : start + 100_000])
        sent.close()

    _, got = await asyncio.wait_for(asyncio.gather(send(), _read_all(received)), timeout=30)
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()


async def test_a_stalled_reader_holds_up_only_its_own_stream(
    hub_side: tuple[HubSide, int], appliance: Appliance
) -> None:
    side, _port = hub_side
    stalled = appliance.link.open("backups")
    moving = appliance.link.open("backups")
    await asyncio.wait_for(asyncio.gather(stalled.accepted(), moving.accepted()), timeout=5)
    _stalled_reader = await side.opened.get()  # never read from
    moving_reader = await side.opened.get()

    # The stalled stream's writer blocks once its window and send budget are full...
    blocked = asyncio.ensure_future(stalled.write(bytes(4 * 1024 * 1024)))
    await _ping_round_trip(appliance, "started")  # the write has begun...
    await asyncio.wait_for(appliance.link.idle(), timeout=5)  # ...and all it may send is sent
    assert appliance.link.mux.queued_bytes(stalled.stream_id) == 4 * 1024 * 1024 - WINDOW
    assert not blocked.done()
    # ...while the other stream carries a megabyte and pings go back and forth.
    await _ping_round_trip(appliance, "during")

    async def send() -> None:
        await moving.write(bytes(1024 * 1024))
        moving.close()

    _, got = await asyncio.wait_for(asyncio.gather(send(), _read_all(moving_reader)), timeout=10)
    assert len(got) == 1024 * 1024
    await _ping_round_trip(appliance, "after")
    assert not blocked.done()
    assert appliance.connection.protocol is not None  # the link is still up
    blocked.cancel()


async def test_a_refused_stream_fails_its_opener_and_the_link_stays(
    hub_side: tuple[HubSide, int], appliance: Appliance
) -> None:
    side, _port = hub_side
    side.accept = False
    stream = appliance.link.open("tunnel")
    with pytest.raises(StreamError) as refused:
        await asyncio.wait_for(stream.accepted(), timeout=5)
    assert refused.value.reason == "unsupported"
    await _ping_round_trip(appliance, "still up")
