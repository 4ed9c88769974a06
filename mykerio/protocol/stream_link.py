"""Protocol v2 streams on a socket: one writer per link with a control lane, streams as asyncio.

`StreamLink` puts a `StreamMux` on any message socket that can write a text or binary message
and say when it was written (Tornado's `write_message` future on either side; a test double
in a unit test). One writer task drains, in this order: the link's own JSON messages
(`send_control`: status, pings, removal), the mux's stream control messages, then one data
frame; it runs only while something is to be written. Each write is awaited before the next
is chosen, so a control message written while a transfer runs waits for at most one data frame
(64 KiB by default) — the control lane is never behind a queue of bulk data — and
`keep_unsent_small` bounds what the kernel holds unsent.

Applications use `Stream` handles: `await write(data)` returns once the bytes are queued
within the stream's send budget (back-pressure: a writer faster than the peer's reader waits,
it does not fill memory), `read()` returns the next bytes (`b""` at the end) and grants their
credit back when they are taken, so a slow reader stalls its own stream and nothing else.

It imports no framework: the socket code hands in `write` and feeds `receive_binary` and
`receive_control`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, cast

from mykerio.protocol.envelope import Envelope, JsonValue, encode
from mykerio.protocol.frames import decode_frame, encode_frame
from mykerio.protocol.streams import (
    Control,
    CreditGranted,
    DataReceived,
    Event,
    RefuseReason,
    ResetReason,
    StreamAccepted,
    StreamClosed,
    StreamEnded,
    StreamMux,
    StreamOpened,
    StreamRefused,
    StreamReset,
    check_control,
)

# How many bytes `Stream.write` lets queue beyond what is in flight before it waits.
DEFAULT_SEND_BUDGET = 512 * 1024
# Bytes the kernel may hold unsent on a link's socket (TCP_NOTSENT_LOWAT). A write is done,
# for the writer, once the kernel took it; without this bound the kernel takes megabytes of
# data frames, and a control message written next waits behind all of them (4 busy streams
# made a ping's p99 4x its idle p99). With it the kernel asks for more only when little is left
# to send, so the writer chooses again -- control first -- every 128 KiB or so.
UNSENT_BYTES = 128 * 1024
_TCP_NOTSENT_LOWAT = getattr(socket, "TCP_NOTSENT_LOWAT", 25)  # (Linux's number; 3.12 names it)


def keep_unsent_small(sock: socket.socket | None, limit: int = UNSENT_BYTES) -> None:
    """Bound the bytes a link's socket holds unsent, so that control never queues behind much
    data in the kernel (a no-op where the system has no such option)."""
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    # (Not Linux, macOS or a BSD: the frame size alone bounds the wait.)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, _TCP_NOTSENT_LOWAT, limit)


class Write(Protocol):
    """Write one message (text, or binary when `binary`), returning once it was written."""

    def __call__(self, message: str | bytes, binary: bool) -> Awaitable[None]: ...


class StreamError(Exception):
    """The stream was refused or reset; `reason` is the protocol's word for why."""

    def __init__(self, stream_id: int, reason: str) -> None:
        super().__init__(f"stream {stream_id}: {reason}")
        self.stream_id = stream_id
        self.reason = reason


class Stream:
    """One stream, as its application sees it."""

    def __init__(self, link: StreamLink, stream_id: int, kind: str) -> None:
        self._link = link
        self.stream_id = stream_id
        self.kind = kind
        self._chunks: deque[bytes] = deque()
        self._ended = False
        self._failure: StreamError | None = None
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._accepted = asyncio.Event()

    async def accepted(self) -> None:
        """Wait until the peer accepts a stream we opened (raise if it refuses)."""
        await self._accepted.wait()
        self._raise_failure()

    async def write(self, data: bytes) -> None:
        """Queue `data`; wait while the stream is over its send budget."""
        self._raise_failure()
        self._link.mux.send(self.stream_id, data)
        self._link.wake()
        while self._link.mux.queued_bytes(self.stream_id) > self._link.send_budget:
            self._writable.clear()
            await self._writable.wait()
            self._raise_failure()

    def queue(self, data: bytes) -> None:
        """Queue `data` now, without waiting (then `await room()` before queueing more): a
        `close` right after it sends FIN in the same frame as these last bytes."""
        self._raise_failure()
        self._link.mux.send(self.stream_id, data)
        self._link.wake()

    async def room(self) -> None:
        """Wait while the stream is over its send budget."""
        while self._link.mux.queued_bytes(self.stream_id) > self._link.send_budget:
            self._writable.clear()
            await self._writable.wait()
            self._raise_failure()

    async def drain(self) -> None:
        """Wait until every queued byte was handed to the socket."""
        while self._link.mux.queued_bytes(self.stream_id) and self._failure is None:
            self._writable.clear()
            await self._writable.wait()
        self._raise_failure()

    def close(self) -> None:
        """No more bytes from us (FIN after the queued ones)."""
        self._link.mux.close(self.stream_id)
        self._link.wake()

    def reset(self, reason: ResetReason = "cancelled") -> None:
        """Abandon the stream both ways."""
        self._link.handle(self._link.mux.reset(self.stream_id, reason))
        self._link.wake()

    async def read(self) -> bytes:
        """The next bytes the peer sent, or `b""` once it has ended the stream."""
        while not self._chunks:
            self._raise_failure()
            if self._ended:
                return b""
            self._readable.clear()
            await self._readable.wait()
        chunk = self._chunks.popleft()
        # Credit goes back when the application takes the bytes, not when they arrive.
        self._link.mux.consumed(self.stream_id, len(chunk))
        self._link.wake()
        return chunk

    def readable(self) -> bool:
        """Whether `read` would return at once (bytes, the end, or a failure, are in)."""
        return bool(self._chunks) or self._ended or self._failure is not None

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    # Called by the link.
    def _deliver(self, data: bytes) -> None:
        self._chunks.append(data)
        self._readable.set()

    def _end(self) -> None:
        self._ended = True
        self._readable.set()

    def _fail(self, reason: str) -> None:
        self._failure = StreamError(self.stream_id, reason)
        for event in (self._readable, self._writable, self._accepted):
            event.set()


class StreamLink:
    """The streams of one link and the one task that writes its messages."""

    def __init__(
        self,
        mux: StreamMux,
        write: Write,
        *,
        on_open: Callable[[Stream, Mapping[str, object]], None] | None = None,
        encode_control: Callable[[Control], str] | None = None,
        send_budget: int = DEFAULT_SEND_BUDGET,
    ) -> None:
        self.mux = mux
        self._encode_control = encode_control or _plain_control
        self.send_budget = send_budget
        self._write = write
        self._on_open = on_open
        self._streams: dict[int, Stream] = {}
        self._control: list[str] = []  # (a list: an empty deque is ~760 bytes, see StreamMux)
        self._control_bytes = 0
        self._idle: asyncio.Event | None = None  # made by the first `idle()`
        # The writer runs only while there is something to write: an idle link (most of a
        # fleet, most of the time: its pings are WebSocket frames that bypass the writer)
        # holds no task, coroutine or event for it (~2.5 KB each of thousands of links).
        self._writer: asyncio.Task[None] | None = None
        self._started = False
        self._closed = False

    def start(self) -> None:
        """Let the writer run (on the running loop), now if something waits already."""
        self._started = True
        self.wake()

    async def stop(self) -> None:
        """Stop writing; every stream fails with `link_closing`."""
        self._closed = True
        self.handle(self.mux.reset_all())
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)

    def open(self, kind: str, meta: Mapping[str, object] | None = None) -> Stream:
        """Open a stream to the peer; `await stream.accepted()` before relying on it."""
        stream_id = self.mux.open(kind, meta)
        stream = Stream(self, stream_id, kind)
        self._streams[stream_id] = stream
        self.wake()
        return stream

    def accept(self, stream: Stream, window: int | None = None) -> None:
        """Accept a stream the peer opened (given to `on_open`), granting `window` bytes
        (the mux's window by default)."""
        self.mux.accept(stream.stream_id, window)
        stream._accepted.set()
        self.wake()

    def refuse(self, stream: Stream, reason: RefuseReason) -> None:
        """Refuse a stream the peer opened."""
        self.mux.refuse(stream.stream_id, reason)
        self._streams.pop(stream.stream_id, None)
        self.wake()

    def send_control(self, message: str) -> None:
        """Queue one of the link's own JSON messages, ahead of every data frame."""
        self._control.append(message)
        self._control_bytes += len(message)
        self.wake()

    def take_control(self) -> list[str]:
        """The link's own messages not yet written, taken out of the lane: a side about to
        close writes them itself first, so that its last words (an `error`) precede the close
        frame instead of being dropped with the writer."""
        taken, self._control, self._control_bytes = self._control, [], 0
        return taken

    def queued_control(self) -> tuple[int, int]:
        """The link's own messages queued and not yet written: how many, and their characters
        (the caller bounds its control lane with them; data frames are bounded by credit)."""
        return len(self._control), self._control_bytes

    def receive_binary(self, message: bytes) -> None:
        """A binary message arrived (a `ProtocolError` here is the link's to handle)."""
        self.handle(self.mux.receive_frame(decode_frame(message)))
        self.wake()

    def receive_control(self, type: str, body: Mapping[str, object]) -> None:
        """A stream control message arrived."""
        check_control(type, body)
        self.handle(self.mux.receive_control(type, body))
        self.wake()

    def wake(self) -> None:
        """Something may be ready to write: start the writer unless it runs."""
        if self._writer is None and self._started and not self._closed:
            if self._idle is not None:
                self._idle.clear()
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def idle(self) -> None:
        """Wait until everything that may be written now was (streams out of credit wait)."""
        if self._writer is None:
            return
        if self._idle is None:
            self._idle = asyncio.Event()
        await self._idle.wait()

    def handle(self, events: list[Event]) -> None:
        """Apply what the mux says happened to the streams' handles."""
        for event in events:
            if isinstance(event, StreamOpened):
                stream = Stream(self, event.stream_id, event.kind)
                self._streams[event.stream_id] = stream
                if self._on_open is None:
                    self.refuse(stream, "unsupported")
                else:
                    self._on_open(stream, event.meta)
                continue
            known = self._streams.get(event.stream_id)
            if known is None:
                continue
            if isinstance(event, StreamAccepted):
                known._accepted.set()
            elif isinstance(event, DataReceived):
                known._deliver(event.data)
            elif isinstance(event, StreamEnded):
                known._end()
            elif isinstance(event, CreditGranted):
                known._writable.set()
            elif isinstance(event, StreamRefused | StreamReset):
                known._fail(event.reason)
                self._streams.pop(event.stream_id, None)
            elif isinstance(event, StreamClosed):
                known._end()
                known._writable.set()
                self._streams.pop(event.stream_id, None)

    async def _write_loop(self) -> None:
        try:
            while not self._closed:
                message, binary, stream_id = self._next()
                if message is None:
                    return  # nothing to write: the next `wake` starts a writer again
                await self._write(message, binary)
                if stream_id is not None:
                    stream = self._streams.get(stream_id)
                    if stream is not None:
                        stream._writable.set()
        finally:
            # (On the loop's thread, so no `wake` can come between the last `_next` and this.)
            self._writer = None
            if self._idle is not None:
                self._idle.set()

    def _next(self) -> tuple[str | bytes | None, bool, int | None]:
        if self._control:
            message = self._control.pop(0)
            self._control_bytes -= len(message)
            return message, False, None
        control = self.mux.next_control()
        if control is not None:
            return self._encode_control(control), False, None
        frame = self.mux.next_data()
        if frame is not None:
            return encode_frame(frame), True, frame.stream_id
        return None, False, None


def envelope_control(control: Control) -> str:
    """A stream control message in the link's own envelope (a fresh id), as links send it."""
    body = cast(Mapping[str, JsonValue], control.body)
    return encode(Envelope.new(control.type, body))


def _plain_control(control: Control) -> str:
    # The link's own envelope (ids, `re`) wraps these on a real link; tests and benchmarks
    # that carry only streams use this bare form.
    return json.dumps({"type": control.type, "body": dict(control.body)}, separators=(",", ":"))
