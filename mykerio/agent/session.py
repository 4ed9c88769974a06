"""One socket to the hub: connect, handshake, then the messages of the pairing and linked states.

A `Session` lives for one connection (docs/protocol.md sections 4-6). It sends `hello`, checks
the hub's `challenge` (the hub key must be the pinned one, when there is one, and its signature
must verify, else `error forged_proof` and close 4004), answers with `proof`, then follows the
state table: `pairing` and `welcome` while not yet added; `ping`, `rename`, `remove` and
`refused` once linked. What the hub says goes to the `SessionEvents` (the link); the session
itself keeps no settings. It ends with an `Ending`: the close code and, in words, what went
wrong. Outgoing messages are bounded like the hub's send queue (64 messages or 1 MiB waiting).

On protocol version 2 (docs/protocol.md, "Protocol version 2") the hub's liveness pings are
WebSocket ping frames (Tornado answers them; each one counts as heard), and once welcomed the
session's JSON messages go through a `StreamLink`'s control lane, ahead of stream data. The
simulator serves two stream kinds of the `diagnostics` feature: `echo` sends back every byte
it reads, `discard` reads everything and sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn, Protocol, cast, runtime_checkable

import structlog
from tornado.concurrent import Future
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.iostream import StreamClosedError
from tornado.websocket import (
    WebSocketClientConnection,
    WebSocketClosedError,
    WebSocketError,
    websocket_connect,
)

from mykerio.agent.endpoint import HubEndpoint, Timings
from mykerio.agent.profile import Profile
from mykerio.clock import Clock
from mykerio.protocol import link
from mykerio.protocol.envelope import MAX_MESSAGE_BYTES, Envelope, JsonValue, decode, encode
from mykerio.protocol.errors import CloseCode, ProtocolError, close_code_for
from mykerio.protocol.features import STREAM_KINDS
from mykerio.protocol.frames import MAX_PAYLOAD
from mykerio.protocol.identity import (
    b64url,
    from_b64url,
    new_nonce,
    public_key_of,
    sign_proof,
    verify_hub,
)
from mykerio.protocol.status import Knobs
from mykerio.protocol.stream_link import (
    Stream,
    StreamError,
    StreamLink,
    envelope_control,
    keep_unsent_small,
)
from mykerio.protocol.streams import CONTROL_TYPES, StreamMux
from mykerio.protocol.versions import STREAMS_VERSION

ABNORMAL_CLOSURE = 1006  # RFC 6455: no close frame (the socket dropped, or never opened)
HUB_IDENTITY_CHANGED = "hub identity changed"
RESTARTING = "restarting to apply the set-up from MyKerio"
CLOCK_SKEW_WARNING = timedelta(minutes=5)

_PAIRING_STATE = frozenset({"ping", "pairing", "welcome", "setup_check", "setup"})
_LINKED_STATE = frozenset({"ping", "rename", "organization", "remove", "refused"})
_LINKED_STREAMS_STATE = _LINKED_STATE | frozenset(CONTROL_TYPES)
_SERVED_KINDS = frozenset({"echo", "discard"})
_CONNECT_ERRORS = (OSError, HTTPClientError, StreamClosedError, WebSocketError)
_HUB_CLOSES: dict[int, str] = {
    CloseCode.NORMAL: "the hub closed the connection",
    CloseCode.GOING_AWAY: "the hub is restarting",
    CloseCode.SUPERSEDED: "a newer connection with this appliance's key replaced this one",
    CloseCode.TOO_SLOW: "the hub found this connection too slow",
    ABNORMAL_CLOSURE: "the connection dropped",
}

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Ending:
    """How a session ended: the close code, what went wrong in words (None if nothing did),
    when the handshake finished (monotonic seconds; None if it never did) and when it ended."""

    close_code: int
    problem: str | None
    handshake_done_at: float | None
    ended_at: float
    # The hub refused the upgrade as busy (503): come back after this many seconds.
    retry_after: float | None = None


class SessionEvents(Protocol):
    """What a session reports about the hub's messages (the link implements it)."""

    def on_pairing(self, add_link: str) -> None:
        """The hub does not know this key yet: `add_link` adds the appliance."""

    def on_welcome(
        self, appliance_id: str, name: str, organization: str | None, hub_key: bytes
    ) -> None:
        """The hub knows this appliance; pin `hub_key`."""

    def on_rename(self, name: str) -> None:
        """The appliance was renamed in the hub."""

    def on_organization(self, name: str) -> None:
        """The appliance's organization was renamed in the hub."""

    def on_remove(self) -> None:
        """The appliance was removed in the hub."""

    def on_refused(self, code: str, message: str) -> None:
        """The hub refused what the appliance asked (e.g. linking a Multi-Server)."""

    def on_setup_check(self, body: Mapping[str, JsonValue]) -> Mapping[str, JsonValue]:
        """Whether the box would accept this administrator choice (`setup_result` body);
        nothing changes."""

    def on_setup(self, body: Mapping[str, JsonValue]) -> Mapping[str, JsonValue]:
        """A box is set up by serial: check or create its administrator; the `setup_result`
        body (`ok` true means the box restarts to apply it)."""


class SessionHook(Protocol):
    """A feature of the appliance that rides on its sessions (e.g. `mykerio.agent.backups`):
    it gets the hub's messages of its `message_types` once linked, and hears when the link is
    up and when it went."""

    message_types: frozenset[str]

    def linked(self, session: Session) -> None:
        """Welcomed (its `features` and `streams` are known now)."""

    def message(self, session: Session, envelope: Envelope) -> None:
        """One of its message types arrived."""

    def unlinked(self) -> None:
        """The connection closed."""


@runtime_checkable
class PairingHook(SessionHook, Protocol):
    """A hook whose feature works before the appliance is added too (the relay: any proven
    key may use it): it gets its `pairing_message_types` while waiting, and hears `pairing`."""

    pairing_message_types: frozenset[str]

    def pairing(self, session: Session) -> None:
        """The hub proved itself and shows a pairing code: the feature may be used now."""


class StreamHook(Protocol):
    """A feature that serves streams the hub opens (e.g. `mykerio.agent.tunnel`): streams of
    its `stream_kinds` go to it, on links that negotiated their feature."""

    stream_kinds: frozenset[str]

    def stream_opened(
        self, streams: StreamLink, stream: Stream, meta: Mapping[str, object]
    ) -> None:
        """Accept or refuse the stream (at once) and serve it."""

    def unlinked(self) -> None:
        """The connection closed."""


class _Closed(Exception):
    """The socket is closed (or closing); nothing more will be read."""


class Session:
    """One connection to the hub, from `hello` to the close; `run` it once."""

    def __init__(
        self,
        endpoint: HubEndpoint,
        profile: Profile,
        private_pem: bytes,
        pinned_hub_key: bytes | None,
        knobs: Callable[[], Knobs],
        events: SessionEvents,
        *,
        clock: Clock,
        timings: Timings,
        handshakes: asyncio.Semaphore | None = None,
        hooks: Sequence[SessionHook] = (),
        stream_hooks: Sequence[StreamHook] = (),
    ) -> None:
        self._endpoint = endpoint
        self._stream_hooks = {kind: hook for hook in stream_hooks for kind in hook.stream_kinds}
        self._hooks = tuple(hooks)
        self._hooked = {kind: hook for hook in hooks for kind in hook.message_types}
        self._pairing_hooks = tuple(hook for hook in hooks if isinstance(hook, PairingHook))
        self._pairing_hooked = frozenset(
            kind for hook in self._pairing_hooks for kind in hook.pairing_message_types
        )
        # Shared by the appliances of one process: how many may be in a handshake at once.
        self._handshakes = handshakes
        self._holds_handshake = False
        self._profile = profile
        self._private_pem = private_pem
        self._pinned_hub_key = pinned_hub_key
        self._knobs = knobs
        self._events = events
        self._clock = clock
        self._timings = timings
        self._conn: WebSocketClientConnection | None = None
        self._closed_with: int | None = None
        self._problem: str | None = None
        self._handshake_done_at: float | None = None
        self._linked = False
        self._queued_messages = 0
        self._queued_bytes = 0
        self._remove_timer: asyncio.TimerHandle | None = None
        self._ended = False  # the socket has closed: nothing more will come
        self._version = 1  # the hub's choice, from its `challenge`
        self._features: Mapping[str, JsonValue] = {}
        self._streams: StreamLink | None = None  # version 2, once welcomed
        self._served: set[asyncio.Task[None]] = set()
        self._heard_at = 0.0  # the loop's time of the last frame (or ping frame) from the hub
        self._reading: Future[str | bytes | None] | None = None

    @property
    def version(self) -> int:
        """The protocol version of this connection (1 until the hub's `challenge` says)."""
        return self._version

    @property
    def streams(self) -> StreamLink | None:
        """The streams of a welcomed version 2 connection (None otherwise)."""
        return self._streams

    @property
    def features(self) -> Mapping[str, JsonValue]:
        """The features the hub chose in its `challenge` (version 2; empty on version 1)."""
        return self._features

    def send(self, envelope: Envelope) -> None:
        """Send a message of a hook's feature, if linked."""
        if self.linked:
            self._send(envelope)

    def send_admitted(self, envelope: Envelope) -> bool:
        """Send a message of a feature that also works while waiting to be added (after the
        handshake, pairing or linked); False if the connection is not that far or is closed."""
        if self._handshake_done_at is None or self._closed_with is not None or self._ended:
            return False
        self._send(envelope)
        return True

    @property
    def linked(self) -> bool:
        """Whether the hub welcomed this appliance on this connection (and it is still open)."""
        return self._linked and self._closed_with is None

    async def run(self) -> Ending:
        """Connect, talk until the socket closes, and say how it ended."""
        if self._handshakes is not None:
            # Waiting for a turn comes before the socket opens, so it never eats into the
            # hub's 10 s handshake deadline.
            await self._handshakes.acquire()
            self._holds_handshake = True
        try:
            return await self._run()
        finally:
            self._release_handshake()

    def _release_handshake(self) -> None:
        if self._holds_handshake and self._handshakes is not None:
            self._holds_handshake = False
            self._handshakes.release()

    async def _run(self) -> Ending:
        request = HTTPRequest(
            self._endpoint.socket_url,
            ssl_options=self._endpoint.ssl_context,
            connect_timeout=self._timings.handshake,
            request_timeout=self._timings.handshake,
        )
        try:
            conn = await websocket_connect(request, max_message_size=MAX_MESSAGE_BYTES)
        except HTTPClientError as error:
            retry_after = _retry_after(error)
            if retry_after is None:
                log.info("cannot reach the hub", error=_describe(error))
                return self._ending(ABNORMAL_CLOSURE, f"cannot reach the hub ({_describe(error)})")
            log.info("the hub is busy", retry_after=retry_after)
            ending = self._ending(ABNORMAL_CLOSURE, "MyKerio is busy")
            return dataclasses.replace(ending, retry_after=retry_after)
        except _CONNECT_ERRORS as error:
            log.info("cannot reach the hub", error=_describe(error))
            return self._ending(ABNORMAL_CLOSURE, f"cannot reach the hub ({_describe(error)})")
        self._conn = conn
        self._heard_at = asyncio.get_running_loop().time()
        conn.on_ping = self._on_ping  # type: ignore[method-assign]  # (a ping frame is a sign of life)
        try:
            if self._closed_with is not None:  # closed while connecting
                conn.close(self._closed_with)
                raise _Closed
            await self._converse()
        except ProtocolError as error:
            self._fail(error)
        except _Closed:
            pass
        finally:
            if self._linked:
                for hook in self._hooks:
                    hook.unlinked()
                for stream_hook in set(self._stream_hooks.values()):
                    stream_hook.unlinked()
            self._linked = False
            if self._remove_timer is not None:
                self._remove_timer.cancel()
            await self._stop_streams()
            await self._drain(conn)
            conn.close()  # also when the hub closed first: a connection left open warns
        code = self._closed_with or conn.close_code or ABNORMAL_CLOSURE
        if self._closed_with is None:
            self._note(_HUB_CLOSES.get(code, f"the hub closed the connection ({code})"))
        return self._ending(code, self._problem)

    def send_status(self) -> None:
        """Send `status` with the current knobs, if linked (the hub wants it only then)."""
        if self.linked:
            self._send(Envelope.new("status", {"knobs": self._knobs().to_json()}))

    def send_removed(self) -> bool:
        """Say "Remove from MyKerio" was clicked, if linked; the hub then closes with 4009.

        If the hub does not close within the removal deadline, the appliance closes itself.
        """
        if not self.linked:
            return False
        self._send(Envelope.new("removed", {}))
        loop = asyncio.get_running_loop()
        self._remove_timer = loop.call_later(
            self._timings.remove_close, self.close, CloseCode.REMOVED, "removed"
        )
        return True

    def close(self, code: int, reason: str) -> None:
        """Close the socket with `code` (once; later calls do nothing)."""
        if self._closed_with is not None:
            return
        self._closed_with = code
        if self._conn is not None:
            if self._streams is not None:
                # The control lane's last messages (an `error`) go before the close frame.
                for text in self._streams.take_control():
                    with contextlib.suppress(WebSocketClosedError):
                        self._conn.write_message(text)
            self._conn.close(code, reason)

    async def _converse(self) -> None:
        deadline = asyncio.get_running_loop().time() + self._timings.handshake
        nonce = new_nonce()
        hello = Envelope.new("hello", self._profile.hello_body(nonce))
        self._send(hello)
        challenge = await self._next({"challenge", "refused"}, deadline)
        if challenge.type == "refused":
            self._handle(challenge, b"")
            await self._until_closed()
        hub_key = self._check_challenge(challenge, hello, nonce)
        hub_nonce = from_b64url(str(challenge.body["nonce"]))
        proof = {
            "public_key": b64url(public_key_of(self._private_pem)),
            "signature": b64url(sign_proof(self._private_pem, hub_nonce, nonce)),
        }
        self._send(challenge.reply("proof", proof))
        # The hub may refuse right after `hello`, so a `refused` can cross our `proof`.
        message = await self._next({"welcome", "pairing", "refused"}, deadline)
        while True:
            self._handle(message, hub_key)
            if message.type == "refused" and not self._linked:
                await self._until_closed()
            if not self._linked:
                expected = _PAIRING_STATE | self._pairing_hooked
            elif self._streams is not None:
                expected = _LINKED_STREAMS_STATE | self._hooked.keys()
            else:
                expected = _LINKED_STATE
            message = await self._next(expected, None)

    def _check_challenge(self, challenge: Envelope, hello: Envelope, nonce: bytes) -> bytes:
        """The hub key of a `challenge` that answers `hello` and proves the hub; else raise."""
        body = challenge.body
        if challenge.re != hello.id:
            raise ProtocolError("unexpected_message", "the challenge does not answer the hello")
        offered = hello.body["versions"]
        assert isinstance(offered, Collection)
        if body["version"] not in offered:
            raise ProtocolError("unsupported_version", "the hub chose a version not offered")
        self._version = int(str(body["version"]))
        features = body.get("features", {})
        if self._version >= STREAMS_VERSION and isinstance(features, Mapping):
            self._features = features
        hub_key = from_b64url(str(body["hub_key"]))
        signature = from_b64url(str(body["hub_signature"]))
        hub_nonce = from_b64url(str(body["nonce"]))
        pinned = self._pinned_hub_key
        if pinned is not None and hub_key != pinned:
            self._note(HUB_IDENTITY_CHANGED)
            raise ProtocolError("forged_proof", "the hub key is not the pinned one")
        if not verify_hub(hub_key, signature, nonce, hub_nonce):
            self._note(HUB_IDENTITY_CHANGED if pinned else "the hub's signature does not verify")
            raise ProtocolError("forged_proof", "the hub signature does not verify")
        self._warn_on_skew(str(body["hub_time"]))
        return hub_key

    def _handle(self, message: Envelope, hub_key: bytes) -> None:
        body = message.body
        if message.type in CONTROL_TYPES:
            assert self._streams is not None  # (expected only then)
            self._streams.receive_control(message.type, body)
        elif message.type == "ping":
            self._send(message.reply("pong", {}))
        elif message.type == "pairing":
            self._mark_handshake_done()
            self._events.on_pairing(str(body["link"]))
            for waiting_hook in self._pairing_hooks:
                waiting_hook.pairing(self)
        elif message.type == "welcome":
            if from_b64url(str(body["hub_key"])) != hub_key:
                self._note(HUB_IDENTITY_CHANGED)
                raise ProtocolError("forged_proof", "the welcome names another hub key")
            self._mark_handshake_done()
            organization = body.get("organization")
            self._events.on_welcome(
                str(body["appliance_id"]),
                str(body["name"]),
                None if organization is None else str(organization),
                hub_key,
            )
            self._linked = True
            if self._version >= STREAMS_VERSION:
                self._start_streams()
            self.send_status()
            for hook in self._hooks:
                hook.linked(self)
        elif message.type == "setup_check":
            # Carries credentials: checked by the box's own code, never logged here.
            self._send(message.reply("setup_result", dict(self._events.on_setup_check(body))))
        elif message.type == "setup":
            # Carries credentials: handed to the box's own code, never logged here.
            result = self._events.on_setup(body)
            self._send(message.reply("setup_result", dict(result)))
            if result.get("ok") is True:
                self._note(RESTARTING)
                self.close(CloseCode.GOING_AWAY, "restarting")
        elif message.type == "rename":
            self._events.on_rename(str(body["name"]))
        elif message.type == "organization":
            self._events.on_organization(str(body["name"]))
        elif message.type == "remove":
            self._events.on_remove()
            self.close(CloseCode.REMOVED, "removed")
        elif message.type == "refused":
            self._note(str(body["message"]))
            self._events.on_refused(str(body["code"]), str(body["message"]))
        elif message.type in self._hooked:
            self._hooked[message.type].message(self, message)

    async def _until_closed(self) -> NoReturn:
        """After a refusal in the handshake: wait for the hub to close (4005)."""
        while True:
            await self._next((), None)

    async def _next(self, expected: Collection[str], deadline: float | None) -> Envelope:
        """The next message of an `expected` type; a hub's `error` is noted and skipped."""
        while True:
            if deadline is None:
                message = await self._receive(self._timings.silence, silence=True)
            else:
                timeout = max(0.0, deadline - asyncio.get_running_loop().time())
                message = await self._receive(timeout)
            if message.type == "error":
                log.info("the hub reported an error", code=message.body["code"])
                self._note(f"the hub reported: {message.body['message']}")
            elif message.type in expected:
                return message
            else:
                raise ProtocolError("unexpected_message", f"{message.type} was not expected now")

    async def _receive(self, timeout: float, *, silence: bool = False) -> Envelope:
        """The next message; `timeout` seconds at most, or with `silence`, until `timeout`
        seconds after the last frame heard (a ping frame counts)."""
        loop = asyncio.get_running_loop()
        until = (self._heard_at if silence else loop.time()) + timeout
        while True:
            frame = await self._read_frame(until, silence=silence, timeout=timeout)
            self._heard_at = loop.time()
            if isinstance(frame, bytes):
                if self._streams is None:
                    raise ProtocolError("bad_envelope", "binary frames come only after welcome")
                self._streams.receive_binary(frame)
                continue
            return decode(frame, sent_by="hub")

    async def _read_frame(self, until: float, *, silence: bool, timeout: float) -> str | bytes:
        if self._conn is None or self._closed_with is not None:
            raise _Closed
        loop = asyncio.get_running_loop()
        # One read stays pending across waits, so that a frame is never lost to a timeout.
        if self._reading is None:
            self._reading = cast(Future[str | bytes | None], self._conn.read_message())
        reading = self._reading
        while not reading.done():
            left = until - loop.time()
            if left <= 0 and silence and self._heard_at + timeout > loop.time():
                until = self._heard_at + timeout  # a ping frame came meanwhile
                continue
            if left <= 0:
                self._note("the hub stopped answering")
                self.close(CloseCode.TOO_SLOW, "too_slow")
                raise _Closed
            await asyncio.wait({reading}, timeout=left)
        self._reading = None
        frame = reading.result()
        if frame is None:
            self._ended = True
            raise _Closed
        return frame

    def _on_ping(self, data: bytes) -> None:
        self._heard_at = asyncio.get_running_loop().time()

    def _start_streams(self) -> None:
        """After `welcome` on version 2: one writer, control lane first, then stream data."""
        assert self._conn is not None
        if self._conn.stream is not None:
            keep_unsent_small(self._conn.stream.socket)
        conn = self._conn
        # Streams carry request/answer traffic (a tunnelled page is 51 of them): Nagle would
        # hold each small frame until the last one is acknowledged (up to a delayed ACK).
        if conn.stream is not None:
            conn.stream.set_nodelay(True)

        async def write(message: str | bytes, binary: bool) -> None:
            with contextlib.suppress(WebSocketClosedError, StreamClosedError):
                await conn.write_message(message, binary=binary)

        self._streams = StreamLink(
            # Frames as large as a frame may be: a backup upload is bulk data.
            StreamMux("appliance", max_payload=MAX_PAYLOAD),
            write,
            on_open=self._stream_opened,
            encode_control=envelope_control,
        )
        self._streams.start()

    def _stream_opened(self, stream: Stream, meta: Mapping[str, object]) -> None:
        assert self._streams is not None
        hook = self._stream_hooks.get(stream.kind)
        if hook is not None and STREAM_KINDS.get(stream.kind) in self._features:
            hook.stream_opened(self._streams, stream, meta)
            return
        if stream.kind not in _SERVED_KINDS or "diagnostics" not in self._features:
            self._streams.refuse(stream, "unsupported")
            return
        self._streams.accept(stream)
        task = asyncio.ensure_future(self._serve(stream))
        self._served.add(task)
        task.add_done_callback(self._served.discard)

    async def _serve(self, stream: Stream) -> None:
        """`echo`: send back what arrives; `discard`: read it all. Then end our side."""
        try:
            while chunk := await stream.read():
                if stream.kind == "echo":
                    await stream.write(chunk)
            stream.close()
        except StreamError:
            return  # reset by the hub, or the link is closing

    async def _stop_streams(self) -> None:
        if self._streams is not None:
            await self._streams.stop()
        for task in list(self._served):
            task.cancel()
        await asyncio.gather(*self._served, return_exceptions=True)

    def _send(self, envelope: Envelope) -> None:
        if self._conn is None or self._closed_with is not None:
            return
        text = encode(envelope)
        size = len(text.encode("utf-8"))
        streams = self._streams  # version 2, linked: the control lane
        messages, queued = (
            streams.queued_control() if streams else (self._queued_messages, self._queued_bytes)
        )
        if link.send_queue_full(messages + 1, queued + size):
            self._note("the hub does not read what the appliance sends")
            self.close(CloseCode.TOO_SLOW, "too_slow")
            return
        if streams is not None:
            streams.send_control(text)
            return
        try:
            written = self._conn.write_message(text)
        except WebSocketClosedError:
            return
        self._queued_messages += 1
        self._queued_bytes += size
        written.add_done_callback(lambda done: self._written(done, size))

    def _written(self, done: asyncio.Future[None], size: int) -> None:
        self._queued_messages -= 1
        self._queued_bytes -= size
        if not done.cancelled() and done.exception() is not None:
            # A write to a socket that closed meanwhile; the read loop sees the close.
            log.debug("a write to the hub failed", error=_describe(done.exception()))

    def _fail(self, error: ProtocolError) -> None:
        """Tell the hub what it got wrong (while the socket takes it) and close."""
        log.info("protocol error from the hub", code=error.code)
        self._note(f"the hub sent something this appliance does not understand ({error.code})")
        self._send(Envelope.new("error", {"code": error.code, "message": error.message}))
        self.close(close_code_for(error), error.code)

    async def _drain(self, conn: WebSocketClientConnection) -> None:
        """Read until the close completes, so the hub sees a clean close handshake.

        Bounded like Tornado bounds a close handshake (a few seconds), here by `remove_close`.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timings.remove_close
        while not self._ended and loop.time() < deadline:
            reading, self._reading = self._reading, None
            try:
                frame = await asyncio.wait_for(
                    reading or conn.read_message(), deadline - loop.time()
                )
            except TimeoutError:
                return
            self._ended = frame is None

    def _mark_handshake_done(self) -> None:
        self._release_handshake()
        if self._handshake_done_at is None:
            self._handshake_done_at = self._clock.monotonic()

    def _note(self, problem: str) -> None:
        """Remember what went wrong; the first problem is the one the user is shown."""
        if self._problem is None:
            self._problem = problem

    def _warn_on_skew(self, hub_time: str) -> None:
        skew = abs(datetime.fromisoformat(hub_time) - self._clock.now())
        if skew > CLOCK_SKEW_WARNING:
            log.warning("the hub's clock differs from ours", skew_seconds=skew.total_seconds())

    def _ending(self, code: int, problem: str | None) -> Ending:
        return Ending(code, problem, self._handshake_done_at, self._clock.monotonic())


def _retry_after(error: HTTPClientError) -> float | None:
    """The seconds of a busy hub's `503` with `Retry-After` (docs/protocol.md, section 6),
    None for any other HTTP error (a date, or no header: an ordinary failed attempt)."""
    if error.code != 503 or error.response is None:
        return None
    value = error.response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _describe(error: BaseException | None) -> str:
    """A short text for a connection error: its type and message, no secrets in either."""
    if error is None:
        return "unknown error"
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
