"""Protocol v2 streams: many byte streams over one link, each with its own credit, without I/O.

A `StreamMux` is one side (hub or appliance) of one link. The socket code feeds it what arrives
(`receive_frame` for binary data frames, `receive_control` for the JSON stream messages) and
gets back events (`StreamOpened`, `DataReceived`, ...); it asks the mux what to write next with
`next_control()` first and `next_data()` only when there is no control message waiting, so a
busy transfer never delays a ping, a status or a reset.

Flow control is by credit, per stream: a receiver grants the sender `window` bytes when the
stream opens and more with `stream_credit` as its reader consumes them (`consumed`). A sender
never has more bytes in flight than it was granted, so a slow reader stalls only its own stream:
the link, the other streams and the control lane go on. A peer that sends past its credit has
that one stream reset (`flow_control`); the link stays up.

Stream ids: the appliance opens odd ids, the hub even ids (1, 3, 5 / 2, 4, 6), never reused on a
link. At most `max_streams` streams opened by the peer may be open at once; one more is refused
(`too_many_streams`).

The control messages (their bodies are checked by `check_control`):

    stream_open    {stream, kind, window, meta?}   open a stream of a feature's `kind`
    stream_accept  {stream, window}                the opener may send `window` bytes
    stream_refuse  {stream, reason}                the stream will not be opened
    stream_credit  {stream, bytes}                 the sender may send `bytes` more
    stream_reset   {stream, reason}                the stream is abandoned, both ways, now

Half-close is the FIN flag on a data frame (`mykerio.protocol.frames`).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, TypeAlias

from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.frames import DEFAULT_PAYLOAD, MAX_PAYLOAD, MAX_STREAM_ID, DataFrame

Side = Literal["hub", "appliance"]
ControlType = Literal[
    "stream_open", "stream_accept", "stream_refuse", "stream_credit", "stream_reset"
]
CONTROL_TYPES: tuple[ControlType, ...] = (
    "stream_open",
    "stream_accept",
    "stream_refuse",
    "stream_credit",
    "stream_reset",
)
ResetReason = Literal[
    "cancelled",  # the opener or the reader no longer wants it
    "flow_control",  # the peer sent more bytes than it was granted
    "unknown_stream",  # data or a message for a stream that was never opened
    "stream_error",  # the stream's feature could not handle what arrived
    "link_closing",  # the link is going away
]
RefuseReason = Literal[
    "too_many_streams",  # the receiver already has its maximum of open streams
    "unsupported",  # the receiver has no such kind (or did not negotiate its feature)
    "busy",  # the receiver cannot take this stream now; try again later
    "forbidden",  # the receiver will not open this for this peer
]
RESET_REASONS: tuple[ResetReason, ...] = (
    "cancelled",
    "flow_control",
    "unknown_stream",
    "stream_error",
    "link_closing",
)
REFUSE_REASONS: tuple[RefuseReason, ...] = ("too_many_streams", "unsupported", "busy", "forbidden")

DEFAULT_WINDOW = 1024 * 1024
MAX_WINDOW = 2**31 - 1
DEFAULT_MAX_STREAMS = 8
# Ids of streams that ended lately: data still in flight for them is dropped quietly, as a
# reset and the peer's last frames cross on the wire.
_RECENTLY_CLOSED = 256
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
JsonBody: TypeAlias = Mapping[str, object]


class StreamState(Enum):
    """Where a stream is in its life."""

    OPENING = "opening"  # we asked; the peer has not accepted yet
    PENDING = "pending"  # the peer asked; our application has not accepted yet
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Control:
    """A JSON control message to send in the link's control lane."""

    type: ControlType
    body: Mapping[str, object]


# Events: what the application learns from what arrived.
@dataclass(frozen=True, slots=True)
class StreamOpened:
    """The peer asks to open `stream_id` of `kind`; answer with `accept` or `refuse`."""

    stream_id: int
    kind: str
    meta: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class StreamAccepted:
    """The peer accepted a stream we opened; sending may start."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class StreamRefused:
    """The peer will not open a stream we asked for."""

    stream_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class DataReceived:
    """Bytes arrived on a stream; call `consumed` once they are processed, to grant credit."""

    stream_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """The peer sends no more on this stream (FIN); we may still send until we close."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class StreamReset:
    """The stream is abandoned; `by_peer` says which side reset it."""

    stream_id: int
    reason: str
    by_peer: bool


@dataclass(frozen=True, slots=True)
class CreditGranted:
    """The peer granted more credit: data waiting on this stream can go out."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class StreamClosed:
    """Both sides have ended the stream and every byte was sent: it is gone."""

    stream_id: int


Event: TypeAlias = (
    StreamOpened
    | StreamAccepted
    | StreamRefused
    | DataReceived
    | StreamEnded
    | StreamReset
    | CreditGranted
    | StreamClosed
)


@dataclass(slots=True)
class _Stream:
    """One stream's bookkeeping on this side."""

    stream_id: int
    kind: str
    local: bool  # opened by this side
    state: StreamState
    receive_window: int  # what we grant the peer in all
    send_credit: int = 0  # bytes we may still send
    receive_credit: int = 0  # bytes the peer may still send us
    unacknowledged: int = 0  # bytes consumed since our last grant
    outgoing: deque[bytes] = field(default_factory=deque)
    outgoing_bytes: int = 0
    fin_queued: bool = False  # our application closed; FIN goes with the last bytes
    fin_sent: bool = False
    fin_received: bool = False


class StreamMux:
    """The streams of one link, seen from `side`."""

    def __init__(
        self,
        side: Side,
        *,
        window: int = DEFAULT_WINDOW,
        max_streams: int = DEFAULT_MAX_STREAMS,
        max_payload: int = DEFAULT_PAYLOAD,
    ) -> None:
        if not 1 <= window <= MAX_WINDOW:
            raise ValueError(f"window must be 1 to {MAX_WINDOW}")
        if not 1 <= max_payload <= MAX_PAYLOAD:
            raise ValueError(f"max_payload must be 1 to {MAX_PAYLOAD}")
        self.side = side
        self.window = window
        self.max_streams = max_streams
        self.max_payload = max_payload
        self._next_id = 2 if side == "hub" else 1
        self._streams: dict[int, _Stream] = {}
        # Lists, not deques, while short (an empty deque is ~760 bytes, an empty list 56, and a
        # hub keeps a mux per linked appliance, most of them idle): both stay short, the
        # control queue drained by every write and the ready list bounded by `max_streams`.
        self._control: list[Control] = []
        self._ready: list[int] = []  # streams that may have data to send, round robin
        self._closed: deque[int] | None = None  # made when a first stream ends
        self._highest_peer_id = 0

    # What the application does.
    def open(self, kind: str, meta: Mapping[str, object] | None = None) -> int:
        """Ask the peer for a new stream of `kind`; its id, in state OPENING."""
        if not _KIND.fullmatch(kind):
            raise ValueError("a stream kind is 1 to 32 of a-z 0-9 _, starting with a letter")
        stream_id = self._next_id
        if stream_id > MAX_STREAM_ID:
            raise ProtocolError("unexpected_message", "this link has used up its stream ids")
        self._next_id += 2
        self._streams[stream_id] = _Stream(
            stream_id, kind, True, StreamState.OPENING, self.window, receive_credit=self.window
        )
        body: dict[str, object] = {"stream": stream_id, "kind": kind, "window": self.window}
        if meta:
            body["meta"] = dict(meta)
        self._control.append(Control("stream_open", body))
        return stream_id

    def accept(self, stream_id: int, window: int | None = None) -> None:
        """Accept a stream the peer opened (`StreamOpened`), granting `window` bytes (the
        mux's own window by default; a bulk transfer may be given more)."""
        window = self.window if window is None else window
        if not 1 <= window <= MAX_WINDOW:
            raise ValueError(f"window must be 1 to {MAX_WINDOW}")
        stream = self._require(stream_id, StreamState.PENDING)
        stream.state = StreamState.OPEN
        stream.receive_credit = window
        stream.receive_window = window
        self._control.append(Control("stream_accept", {"stream": stream_id, "window": window}))
        self._mark_ready(stream)

    def refuse(self, stream_id: int, reason: RefuseReason) -> None:
        """Refuse a stream the peer opened."""
        self._require(stream_id, StreamState.PENDING)
        self._forget(stream_id)
        self._control.append(Control("stream_refuse", {"stream": stream_id, "reason": reason}))

    def send(self, stream_id: int, data: bytes) -> None:
        """Queue bytes on a stream; they go out as the peer grants credit."""
        stream = self._streams.get(stream_id)
        if stream is None or stream.state in (StreamState.CLOSED, StreamState.PENDING):
            raise ValueError(f"stream {stream_id} is not open")
        if stream.fin_queued:
            raise ValueError(f"stream {stream_id} was closed for sending")
        if data:
            stream.outgoing.append(bytes(data))
            stream.outgoing_bytes += len(data)
            self._mark_ready(stream)

    def close(self, stream_id: int) -> None:
        """Half-close: send FIN after the queued bytes; the peer may still send to us."""
        stream = self._streams.get(stream_id)
        if stream is None or stream.fin_queued:
            return
        stream.fin_queued = True
        self._mark_ready(stream)

    def reset(self, stream_id: int, reason: ResetReason) -> list[Event]:
        """Abandon a stream both ways at once; queued bytes are dropped."""
        if stream_id not in self._streams:
            return []
        self._forget(stream_id)
        self._control.append(Control("stream_reset", {"stream": stream_id, "reason": reason}))
        return [StreamReset(stream_id, reason, by_peer=False)]

    def consumed(self, stream_id: int, count: int) -> None:
        """The reader has processed `count` received bytes: grant them back to the sender.

        Credit goes back in batches of half the window, so a fast stream costs one
        `stream_credit` per half window, not one per frame.
        """
        stream = self._streams.get(stream_id)
        if stream is None or stream.fin_received or count <= 0:
            return
        stream.unacknowledged += count
        if stream.unacknowledged * 2 >= stream.receive_window:
            grant, stream.unacknowledged = stream.unacknowledged, 0
            stream.receive_credit += grant
            self._control.append(Control("stream_credit", {"stream": stream_id, "bytes": grant}))

    def reset_all(self, reason: ResetReason = "link_closing") -> list[Event]:
        """The link is going: every stream ends (no message is sent; the link is gone)."""
        events: list[Event] = [StreamReset(sid, reason, by_peer=False) for sid in self._streams]
        for stream_id in list(self._streams):
            self._forget(stream_id)
        self._control.clear()
        return events

    # What to write.
    def next_control(self) -> Control | None:
        """The next control message to send, before any data."""
        return self._control.pop(0) if self._control else None

    def next_data(self) -> DataFrame | None:
        """The next data frame to send: streams take turns, each within its credit."""
        for _ in range(len(self._ready)):
            stream_id = self._ready.pop(0)
            stream = self._streams.get(stream_id)
            if stream is None or stream.state is not StreamState.OPEN or stream.fin_sent:
                continue
            frame = self._take(stream)
            if frame is None:
                continue  # no credit or nothing queued: it comes back when that changes
            if self._sendable(self._streams.get(stream_id)):
                self._ready.append(stream_id)
            return frame
        return None

    def has_output(self) -> bool:
        """Whether `next_control` or `next_data` would give something now."""
        if self._control:
            return True
        return any(self._sendable(self._streams.get(sid)) for sid in self._ready)

    def queued_bytes(self, stream_id: int) -> int:
        """Bytes queued on a stream and not yet sent (for the caller's own back-pressure)."""
        stream = self._streams.get(stream_id)
        return stream.outgoing_bytes if stream else 0

    def state(self, stream_id: int) -> StreamState:
        """A stream's state; CLOSED once it is gone."""
        stream = self._streams.get(stream_id)
        return stream.state if stream else StreamState.CLOSED

    def open_streams(self) -> int:
        """How many streams exist on this link now."""
        return len(self._streams)

    # What arrived.
    def receive_frame(self, frame: DataFrame) -> list[Event]:
        """A data frame arrived."""
        stream = self._streams.get(frame.stream_id)
        if stream is None:
            if self._was_closed(frame.stream_id):
                return []  # in flight when the stream ended
            return self._unknown(frame.stream_id)
        if stream.state is not StreamState.OPEN:
            # Data may only follow stream_accept, which travels before it on the same socket.
            return self.reset(frame.stream_id, "stream_error")
        if stream.fin_received:
            return self.reset(frame.stream_id, "stream_error")
        if len(frame.payload) > stream.receive_credit:
            return self.reset(frame.stream_id, "flow_control")
        stream.receive_credit -= len(frame.payload)
        events: list[Event] = []
        if frame.payload:
            events.append(DataReceived(frame.stream_id, frame.payload))
        if frame.fin:
            stream.fin_received = True
            events.append(StreamEnded(frame.stream_id))
            events.extend(self._close_if_done(stream))
        return events

    def receive_control(self, type: str, body: Mapping[str, object]) -> list[Event]:
        """A JSON stream control message arrived (its body already checked by `check_control`)."""
        stream_id = _stream_id(body)
        if type == "stream_open":
            return self._peer_opens(stream_id, body)
        stream = self._streams.get(stream_id)
        if stream is None:
            # A reset or refusal crossing ours, or a message about a stream long gone.
            if self._was_closed(stream_id) or type in ("stream_reset", "stream_refuse"):
                return []
            return self._unknown(stream_id)
        if type == "stream_accept":
            if stream.state is not StreamState.OPENING:
                return self.reset(stream_id, "stream_error")
            stream.state = StreamState.OPEN
            stream.send_credit = _int(body, "window")
            self._mark_ready(stream)
            return [StreamAccepted(stream_id)]
        if type == "stream_refuse":
            if stream.state is not StreamState.OPENING:
                return self.reset(stream_id, "stream_error")
            self._forget(stream_id)
            return [StreamRefused(stream_id, str(body["reason"]))]
        if type == "stream_credit":
            granted = _int(body, "bytes")
            if stream.send_credit + granted > MAX_WINDOW:
                return self.reset(stream_id, "flow_control")
            stream.send_credit += granted
            self._mark_ready(stream)
            return [CreditGranted(stream_id)]
        # stream_reset
        self._forget(stream_id)
        return [StreamReset(stream_id, str(body["reason"]), by_peer=True)]

    # Inside.
    def _peer_opens(self, stream_id: int, body: Mapping[str, object]) -> list[Event]:
        peer_parity = 1 if self.side == "hub" else 0
        if stream_id % 2 != peer_parity or stream_id <= self._highest_peer_id:
            raise ProtocolError("unexpected_message", "stream ids must be new and of the opener")
        self._highest_peer_id = stream_id
        opened_by_peer = sum(1 for stream in self._streams.values() if not stream.local)
        if opened_by_peer >= self.max_streams:
            self._control.append(
                Control("stream_refuse", {"stream": stream_id, "reason": "too_many_streams"})
            )
            return []
        kind = str(body["kind"])
        stream = _Stream(stream_id, kind, False, StreamState.PENDING, self.window)
        stream.send_credit = _int(body, "window")
        self._streams[stream_id] = stream
        meta = body.get("meta")
        return [StreamOpened(stream_id, kind, meta if isinstance(meta, Mapping) else {})]

    def _take(self, stream: _Stream) -> DataFrame | None:
        size = min(stream.send_credit, stream.outgoing_bytes, self.max_payload)
        if size == 0:
            if stream.fin_queued and not stream.outgoing_bytes:
                stream.fin_sent = True
                frame = DataFrame(stream.stream_id, b"", fin=True)
                self._close_if_done(stream)
                return frame
            return None
        chunks: list[bytes] = []
        needed = size
        while needed:
            head = stream.outgoing[0]
            if len(head) <= needed:
                chunks.append(stream.outgoing.popleft())
                needed -= len(head)
            else:
                chunks.append(head[:needed])
                stream.outgoing[0] = head[needed:]
                needed = 0
        stream.outgoing_bytes -= size
        stream.send_credit -= size
        fin = stream.fin_queued and not stream.outgoing_bytes
        if fin:
            stream.fin_sent = True
        frame = DataFrame(stream.stream_id, b"".join(chunks), fin=fin)
        if fin:
            self._close_if_done(stream)
        return frame

    def _close_if_done(self, stream: _Stream) -> list[Event]:
        if stream.fin_sent and stream.fin_received:
            self._forget(stream.stream_id)
            return [StreamClosed(stream.stream_id)]
        return []

    def _sendable(self, stream: _Stream | None) -> bool:
        if stream is None or stream.state is not StreamState.OPEN or stream.fin_sent:
            return False
        if stream.outgoing_bytes and stream.send_credit:
            return True
        return stream.fin_queued and not stream.outgoing_bytes

    def _mark_ready(self, stream: _Stream) -> None:
        if stream.stream_id not in self._ready and self._sendable(stream):
            self._ready.append(stream.stream_id)

    def _require(self, stream_id: int, state: StreamState) -> _Stream:
        stream = self._streams.get(stream_id)
        if stream is None or stream.state is not state:
            raise ValueError(f"stream {stream_id} is not {state.value}")
        return stream

    def _forget(self, stream_id: int) -> None:
        if self._streams.pop(stream_id, None) is not None:
            if self._closed is None:
                self._closed = deque(maxlen=_RECENTLY_CLOSED)
            self._closed.append(stream_id)

    def _was_closed(self, stream_id: int) -> bool:
        return self._closed is not None and stream_id in self._closed

    def _unknown(self, stream_id: int) -> list[Event]:
        self._control.append(
            Control("stream_reset", {"stream": stream_id, "reason": "unknown_stream"})
        )
        return []


# Each control type's fields, and whether the body must have it.
_CONTROL_FIELDS: dict[str, dict[str, bool]] = {
    "stream_open": {"stream": True, "kind": True, "window": True, "meta": False},
    "stream_accept": {"stream": True, "window": True},
    "stream_refuse": {"stream": True, "reason": True},
    "stream_credit": {"stream": True, "bytes": True},
    "stream_reset": {"stream": True, "reason": True},
}


def check_control(type: str, body: Mapping[str, object]) -> None:
    """Refuse a stream control body that is malformed (`bad_body`), naming the field."""
    fields = _CONTROL_FIELDS.get(type)
    if fields is None:
        raise ProtocolError("unknown_type", f"{type} is not a stream message")
    for name, required in fields.items():
        if required and name not in body:
            raise ProtocolError("bad_body", f"{type}.{name} is required")
    for name, value in body.items():
        problem = _field_problem(type, name, value) if name in fields else "is not a field"
        if problem:
            raise ProtocolError("bad_body", f"{type}.{name} {problem}")


def _field_problem(type: str, name: str, value: object) -> str | None:
    if name == "stream":
        return _whole_problem(value, 1, MAX_STREAM_ID)
    if name in ("window", "bytes"):
        return _whole_problem(value, 1, MAX_WINDOW)
    if name == "kind":
        ok = isinstance(value, str) and bool(_KIND.fullmatch(value))
        return None if ok else "must be 1 to 32 of a-z 0-9 _, starting with a letter"
    if name == "meta":
        return None if isinstance(value, Mapping) else "must be an object"
    # reason
    reasons: tuple[str, ...] = REFUSE_REASONS if type == "stream_refuse" else RESET_REASONS
    return None if value in reasons else "must be one of " + ", ".join(reasons)


def _whole_problem(value: object, low: int, high: int) -> str | None:
    # bool is an int to Python, never to the protocol.
    if type(value) is int and low <= value <= high:
        return None
    return f"must be a whole number from {low} to {high}"


def _stream_id(body: Mapping[str, object]) -> int:
    return _int(body, "stream")


def _int(body: Mapping[str, object], name: str) -> int:
    value = body[name]
    assert isinstance(value, int)  # check_control made sure
    return value
