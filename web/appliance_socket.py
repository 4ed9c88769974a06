"""The appliance socket, `/appliance/v1/socket` (docs/protocol.md): handshake, then frames.

The handler only moves frames. It runs the handshake with `mykerio.protocol` (version, the
hub's signature, the appliance's proof, the replay ledger), asks the GateActor what the proven
key is, then either starts the appliance's actor (`welcome`) or shows a pairing code and waits
for a member to add it (or, for a Kerio Control box found by serial, sends it its `setup`).
A waiting (pairing) socket is pinged like a linked one, so an appliance that follows the 90 s
silence rule does not drop and re-pair while a person adds it. Every frame spends one token of
the connection's message budget (over it: 4029). After the handshake every frame is decoded
and checked; pongs are only noted (the actor looks at when the last frame came), the rest is
told to the ApplianceActor. The actor's messages go out through `send`, whose queue is
bounded: an appliance that does not read is dropped (4008) instead of slowing anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Any, cast

import structlog
import tornado.ioloop
import tornado.iostream
import tornado.websocket

from actors.appliance import ApplianceActor
from actors.clients import ActorClient
from actors.gate import Admission, GateActor, PairingOffer
from actors.supervisor import ShuttingDown
from mykerio.appliances.view import ApplianceView
from mykerio.errors import Conflict, NotFound, Unavailable
from mykerio.models import Appliance
from mykerio.protocol import identity
from mykerio.protocol.envelope import MAX_MESSAGE_BYTES, Envelope, JsonValue, decode, encode
from mykerio.protocol.errors import CloseCode, ProtocolError, close_code_for
from mykerio.protocol.features import check_offered, negotiate_features
from mykerio.protocol.link import (
    HANDSHAKE_TIMEOUT,
    PING_INTERVAL,
    SEND_QUEUE_BYTES,
    SEND_QUEUE_MESSAGES,
    MessageBudget,
)
from mykerio.protocol.pairing import PAIRING_VALID
from mykerio.protocol.stream_link import Stream, StreamLink, keep_unsent_small
from mykerio.protocol.streams import CONTROL_TYPES, Control, StreamMux
from mykerio.protocol.text import sendable_name
from mykerio.protocol.versions import STREAMS_VERSION, negotiate
from web.appliance_links import BOX_GONE, ApplianceLinks
from web.base import BaseHandler
from web.openapi import op

log = structlog.get_logger("web.appliance")
MULTI_SERVER = (
    "Kerio Connect Multi-Server cannot be added to MyKerio. Only Kerio Connect installed on "
    "premises as a single server can be managed in MyKerio."
)
# A box set up by serial restarts; the hub closes a socket still open after this many seconds.
SETUP_CLOSE_SECONDS = 10.0
# A waiting appliance gets a fresh code once its code has expired by the hub's clock, checked
# this often (seconds; a little over the validity, so one check finds it expired; tests shorten
# it).
PAIRING_RENEW_SECONDS = PAIRING_VALID.total_seconds() + 1.0
# A waiting socket gets a `ping` this often (seconds), as a linked one does (tests shorten it).
WAITING_PING_SECONDS = PING_INTERVAL


class ApplianceSocketHandler(tornado.websocket.WebSocketHandler, BaseHandler):
    """One appliance connection (its upgrade is counted and logged like any request)."""

    openapi = {
        "get": op(
            "The appliance socket (WebSocket over TLS); protocol in docs/protocol.md",
            "appliances",
            {"101": "Switching protocols"},
        )
    }

    def initialize(self, links: ApplianceLinks, **kwargs: Any) -> None:  # type: ignore[override]
        """Store the hub's collaborators."""
        super().initialize(**kwargs)
        self.links = links
        self.state = "hello"
        self.hello: Envelope | None = None
        self.hub_nonce = b""
        self.public_key = b""
        self.actor: ActorClient[ApplianceActor] | None = None
        self.pending_writes = 0
        self.pending_bytes = 0
        self._deadline: Any = None
        self._renewal: Any = None
        self._pinger: tornado.ioloop.PeriodicCallback | None = None
        self.frames = 0  # frames received so far
        self.heard_at = self.links.clock.monotonic()  # when the last one came (the Link's)
        self.budget = MessageBudget(links.message_burst, links.message_rate, self.heard_at)
        self.over_budget = False
        self._early: list[Envelope] = []  # frames that came before the actor started
        self.certified = False  # its maker signed its serial and key (`factory_signature`)
        self._setup: tuple[str, asyncio.Future[Mapping[str, Any]]] | None = None
        self._setup_sent_as = "setup"  # or "setup_check": only a `setup` makes the box restart
        self.protocol_version = 1  # chosen at `hello`
        self.features: dict[str, int] = {}  # version 2: the features this link uses
        self.streams: StreamLink | None = None  # version 2, once linked
        self.appliance_id = ""

    @property
    def serial(self) -> str:
        """The serial number the appliance's `hello` gave (a Kerio Control box), or `""`."""
        return str(self.hello.body.get("serial", "")) if self.hello is not None else ""

    @property
    def product(self) -> str:
        """The product its `hello` named."""
        return str(self.hello.body["product"]) if self.hello is not None else ""

    @property
    def version(self) -> str:
        """The product version its `hello` gave."""
        return str(self.hello.body["version"]) if self.hello is not None else ""

    @property
    def host_name(self) -> str:
        """The host name its `hello` offered, or `""`."""
        return str(self.hello.body.get("name", "")) if self.hello is not None else ""

    @property
    def ip(self) -> str:
        """The address it connected from."""
        return self.request.remote_ip or ""

    def check_origin(self, origin: str) -> bool:
        """Appliances are not browsers: no Origin to check, no cookies used."""
        return True

    def get_compression_options(self) -> dict[str, Any] | None:
        """Compress frames."""
        return {}

    def open(self, *args: str, **kwargs: str) -> None:
        """Start the handshake clock."""
        loop = tornado.ioloop.IOLoop.current()
        self._deadline = loop.call_later(HANDSHAKE_TIMEOUT, self._handshake_timeout)

    def _handshake_timeout(self) -> None:
        if self.state in ("hello", "proof"):
            self.close(CloseCode.TOO_SLOW, "handshake_timeout")

    # The Link protocol, used by the ApplianceActor.
    def send(self, envelope: Envelope) -> bool:
        """Queue a message; close with 4008 if the appliance does not read fast enough.

        On a linked version 2 socket it goes into the control lane, ahead of stream data; the
        bound is on that lane alone (stream data is bounded by credit, never closes the link).
        """
        text = encode(envelope)
        if self.streams is not None:
            messages, size = self.streams.queued_control()
            if messages >= SEND_QUEUE_MESSAGES or size + len(text) > SEND_QUEUE_BYTES:
                self.close(CloseCode.TOO_SLOW, "send_queue_full")
                return False
            self.streams.send_control(text)
            return True
        if (
            self.pending_writes >= SEND_QUEUE_MESSAGES
            or self.pending_bytes + len(text) > SEND_QUEUE_BYTES
        ):
            self.close(CloseCode.TOO_SLOW, "send_queue_full")
            return False
        try:
            future = self.write_message(text)
        except tornado.websocket.WebSocketClosedError:
            return False
        self.pending_writes += 1
        self.pending_bytes += len(text)

        def written(_: Any, size: int = len(text)) -> None:
            self.pending_writes -= 1
            self.pending_bytes -= size

        future.add_done_callback(written)
        return True

    def ping_appliance(self) -> bool:
        """A liveness ping: a WebSocket ping frame on version 2 (Tornado answers nothing but
        `on_pong`), a JSON `ping` on version 1; False if the socket is gone."""
        if self.protocol_version < STREAMS_VERSION:
            return self.send(Envelope.new("ping", {}))
        try:
            self.ping()
        except tornado.websocket.WebSocketClosedError:
            return False
        return True

    def on_pong(self, data: bytes) -> None:
        """A pong frame (version 2 liveness) is a sign of life, like any frame."""
        self.heard_at = self.links.clock.monotonic()

    def hang_up(self, code: int, reason: str) -> None:
        """Send the close frame, then drop the connection at once instead of waiting for the
        appliance's answering close frame: at shutdown the wait and the answer's processing
        were half of the work of closing 19,000 sockets. The appliance reads `code` and, as
        with any 1001, reconnects after its random first delay."""
        connection = self.ws_connection
        self.close(code, reason)
        if connection is not None:
            connection._abort()  # Tornado has no public "close without waiting"

    def on_message(self, message: str | bytes) -> Awaitable[None] | None:
        """Decode, check against the state, and act.

        Only the handshake needs to wait (for the gate); every later frame, a pong every 30 s
        from each of thousands of appliances above all, is handled right here, without a
        coroutine. (Tornado reads the next frame once a returned awaitable is done.)
        """
        if self.over_budget:
            return None  # one error and close; later frames are dropped unread
        if isinstance(message, bytes):
            self._binary(message)
            return None
        try:
            envelope = decode(message, max_bytes=MAX_MESSAGE_BYTES, sent_by="appliance")
        except ProtocolError as error:
            envelope = None
            failure: ProtocolError | None = error
        else:
            failure = None
        # Credit grants follow the data the hub sends (credit flow control bounds them): only
        # they, and data frames, spend no token of the budget.
        exempt = (
            self.streams is not None and envelope is not None and (envelope.type == "stream_credit")
        )
        if not exempt and not self.budget.take(self.links.clock.monotonic()):
            self.over_budget = True
            self._fail(ProtocolError("too_many_messages", "over the message budget"))
            return None
        if failure is not None or envelope is None:
            assert failure is not None
            self._fail(failure)
            return None
        self.frames += 1
        self.heard_at = self.links.clock.monotonic()  # any frame is a sign of life
        if (self.state, envelope.type) in (("hello", "hello"), ("proof", "proof")):
            return self._handshake(envelope)
        try:
            self._handle(envelope)
        except ProtocolError as error:
            self._fail(error, re=envelope.id)
        return None

    def _binary(self, message: bytes) -> None:
        """A data frame: only a linked version 2 socket takes them (credit bounds them, so they
        spend no message budget)."""
        if self.streams is None:
            allowed = "before welcome" if self.protocol_version >= STREAMS_VERSION else "in v1"
            self._fail(ProtocolError("bad_json", f"binary frames are not allowed {allowed}"))
            return
        self.frames += 1
        self.heard_at = self.links.clock.monotonic()
        try:
            self.streams.receive_binary(message)
        except ProtocolError as error:
            self._fail(error)

    async def _handshake(self, envelope: Envelope) -> None:
        try:
            if envelope.type == "hello":
                await self._on_hello(envelope)
            else:
                await self._on_proof(envelope)
        except ProtocolError as error:
            self._fail(error, re=envelope.id)

    def _handle(self, envelope: Envelope) -> None:
        if envelope.type == "pong" and self.state in ("pairing", "set_up", "linked"):
            return  # counted in `frames`; nothing else to do
        if self.state == "pairing" and envelope.type == "setup_result":
            self._setup_answered(envelope)
        elif self.streams is not None and envelope.type in CONTROL_TYPES:
            self.streams.receive_control(envelope.type, envelope.body)
        elif self.state == "linked" and envelope.type in ("status", "removed"):
            if self.actor is None:
                # Sent right after `welcome`, while its actor starts: told once it runs.
                self._early.append(envelope)
                return
            # (Dead: the hub is shutting down and stopped the actor; the tell is dropped and the
            # socket closes next.)
            self.actor.tell(ApplianceActor.received, envelope)
        elif envelope.type == "error":
            self.close(CloseCode.NORMAL, "peer_error")
        else:
            raise ProtocolError("unexpected_message", f"{envelope.type} is not expected now")

    async def _on_hello(self, hello: Envelope) -> None:
        body = hello.body
        if body.get("multi_server") is True:
            self.send(hello.reply("refused", {"code": "multi_server", "message": MULTI_SERVER}))
            self.close(CloseCode.REFUSED, "multi_server")
            return
        if "serial" in body and body["product"] != "control":
            raise ProtocolError("bad_body", "only a Kerio Control box has a serial number")
        versions = body.get("versions")
        version = negotiate(
            [int(v) for v in versions] if isinstance(versions, tuple | list) else []
        )
        if version >= STREAMS_VERSION:
            self.features = negotiate_features(check_offered(body.get("features", {})))
        self.protocol_version = version
        appliance_nonce = identity.from_b64url(str(body["nonce"]))
        if not self.links.nonces.use(appliance_nonce, time.monotonic()):
            raise ProtocolError("replayed_nonce", "this nonce was used before")
        self.hello = hello
        self.hub_nonce = identity.new_nonce()
        hub_public = identity.public_key_of(self.links.hub_key_pem)
        signature = identity.sign_hub(self.links.hub_key_pem, appliance_nonce, self.hub_nonce)
        self.state = "proof"
        self.send(
            hello.reply(
                "challenge",
                {
                    "version": version,
                    "nonce": identity.b64url(self.hub_nonce),
                    "hub_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "hub_key": identity.b64url(hub_public),
                    "hub_signature": identity.b64url(signature),
                    **({"features": self.features} if version >= STREAMS_VERSION else {}),
                },
            )
        )

    async def _on_proof(self, proof: Envelope) -> None:
        assert self.hello is not None
        public_key = identity.from_b64url(str(proof.body["public_key"]))
        signature = identity.from_b64url(str(proof.body["signature"]))
        appliance_nonce = identity.from_b64url(str(self.hello.body["nonce"]))
        if identity.is_weak_public_key(public_key):
            # A small-order key verifies signatures made without any private key.
            raise ProtocolError("weak_key", "the public key is of small order or not canonical")
        if not identity.verify_proof(public_key, signature, self.hub_nonce, appliance_nonce):
            raise ProtocolError("forged_proof", "the proof does not verify")
        self.public_key = public_key
        self.certified = self._certified_by_maker(public_key)
        admission: Admission = await self.links.gate().call(GateActor.admit, public_key)
        if admission.revoked:
            raise ProtocolError("revoked_key", "this appliance was removed; pair it again")
        if admission.appliance is not None:
            await self._link(admission.appliance, admission.organization, re=proof.id)
            return
        body = self.hello.body
        offer: PairingOffer | None = await self.links.gate().call(
            GateActor.offer_pairing,
            public_key,
            str(body["product"]),
            str(body["version"]),
            str(body.get("name", "")),
            self.request.remote_ip or "",
        )
        assert offer is not None  # (None only when replacing a code)
        self.state = "pairing"
        self.links.waiting.add(public_key, self)
        self._send_pairing(offer, re=proof.id)
        self._pinger = tornado.ioloop.PeriodicCallback(
            self._ping_waiting, WAITING_PING_SECONDS * 1000
        )
        self._pinger.start()
        log.info("appliance waiting to be added", key=identity.public_key_id(public_key))

    def _certified_by_maker(self, public_key: bytes) -> bool:
        assert self.hello is not None
        signature = self.hello.body.get("factory_signature")
        if not self.serial or not isinstance(signature, str):
            return False
        raw = identity.from_b64url(signature)
        return any(
            identity.verify_factory(maker, raw, self.serial, public_key)
            for maker in self.links.factory_keys
        )

    def _send_pairing(self, offer: PairingOffer, *, re: str | None) -> None:
        body = {
            "code": offer.code,
            "link": offer.link,
            "expires_at": offer.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.send(Envelope.new("pairing", body, re=re))
        # (A code given back to a reconnecting key has less than its 15 minutes left.)
        self._arm_renewal(offer.expires_at, min(PAIRING_RENEW_SECONDS, offer.valid_for + 1.0))

    def _ping_waiting(self) -> None:
        if self.state == "pairing" and self.ws_connection is not None:
            self.ping_appliance()

    def _arm_renewal(self, expires_at: datetime, delay: float = PAIRING_RENEW_SECONDS) -> None:
        loop = tornado.ioloop.IOLoop.current()
        if self._renewal is not None:
            loop.remove_timeout(self._renewal)  # the code it would renew is replaced already
        self._renewal = loop.call_later(
            max(0.0, delay), lambda: loop.add_callback(self._offer_new_code, expires_at)
        )

    async def _offer_new_code(self, expires_at: datetime | None) -> None:
        """Once the code expired while the appliance waited (None: now), give it a new one on
        this socket."""
        if self.state != "pairing" or self.ws_connection is None:
            return
        try:
            offer: PairingOffer | None = await self.links.gate().call(
                GateActor.offer_pairing,
                self.public_key,
                self.product,
                self.version,
                self.host_name,
                self.ip,
                expires_at,
            )
        except Exception as error:  # noqa: BLE001 - any failure: the appliance comes back
            log.warning("cannot renew a pairing code", error=type(error).__name__)
            self.close(CloseCode.GOING_AWAY, "going_away")  # it reconnects and gets a new one
            return
        if self.state != "pairing" or self.ws_connection is None:
            return
        if offer is not None:
            self._send_pairing(offer, re=None)
        elif expires_at is not None:
            self._arm_renewal(expires_at, PAIRING_RENEW_SECONDS)  # not expired by the hub's clock

    async def run_setup(
        self, body: Mapping[str, Any], timeout: float, *, check: bool = False
    ) -> Mapping[str, Any]:
        """Send a Kerio Control box its first administrator (`setup`) and wait for its answer.

        With `check`, send `setup_check` instead: the box only says whether it would accept the
        administrator choice, and changes nothing (the wizard's Set up step).
        The body carries credentials: it goes to this socket only and is never logged.
        """
        if self.state != "pairing" or self.ws_connection is None:
            raise NotFound(BOX_GONE)
        if self._setup is not None:
            raise Conflict("Someone is setting up this box right now. Try again in a minute.")
        message = Envelope.new("setup_check" if check else "setup", dict(body))
        future: asyncio.Future[Mapping[str, Any]] = asyncio.get_running_loop().create_future()
        self._setup = (message.id, future)
        self._setup_sent_as = message.type
        answered_ok = False
        try:
            if not check:
                # Its "add this appliance" code must not add it elsewhere meanwhile.
                await self.links.gate().call(GateActor.withdraw_pairings, self.public_key)
            if not self.send(message):
                raise NotFound(BOX_GONE)
            async with asyncio.timeout(timeout):
                answer = await future
            answered_ok = answer.get("ok") is True
            return answer
        except TimeoutError:
            raise Unavailable(
                "The box did not answer. Check that it is still connected, then try again."
            ) from None
        finally:
            self._setup = None
            if not check and not answered_ok and self.state == "pairing":
                # Not set up: it waits on, so it shows a working code again.
                tornado.ioloop.IOLoop.current().add_callback(self._offer_new_code, None)

    def _setup_answered(self, result: Envelope) -> None:
        if self._setup is None or result.re != self._setup[0]:
            raise ProtocolError("unexpected_message", "setup_result answers no pending setup")
        future = self._setup[1]
        if not future.done():
            future.set_result(result.body)
        if result.body.get("ok") is True and self._setup_sent_as == "setup":
            # The box restarts to apply its set-up and is welcomed when it is back: it is no
            # longer waiting here. One that does not hang up is closed, so that it comes back.
            self.state = "set_up"
            self.links.waiting.discard(self.public_key, self)
            self._stop_timers()
            self._deadline = tornado.ioloop.IOLoop.current().call_later(
                SETUP_CLOSE_SECONDS, self.close, CloseCode.NORMAL, "set_up"
            )

    def welcome_added(self, view: ApplianceView) -> None:
        """A member added this appliance while it waited."""
        tornado.ioloop.IOLoop.current().add_callback(self._welcome_after_add, view.id)

    async def _welcome_after_add(self, appliance_id: str) -> None:
        if self.state != "pairing" or self._setup is not None:
            # Being set up (or set up) by serial: that flow welcomes it after its restart.
            return
        admission: Admission = await self.links.gate().call(GateActor.admit, self.public_key)
        if admission.appliance is not None and admission.appliance.id == appliance_id:
            await self._link(admission.appliance, admission.organization, re=None)

    async def _link(self, appliance: Appliance, organization: str, *, re: str | None) -> None:
        self.state = "linked"
        self._stop_timers()
        hub_public = identity.public_key_of(self.links.hub_key_pem)
        welcome = Envelope.new(
            "welcome",
            {
                "appliance_id": appliance.id,
                "name": sendable_name(appliance.name),  # (one stored before the name rule too)
                "hub_key": identity.b64url(hub_public),
                **({"organization": sendable_name(organization)} if organization else {}),
            },
            re=re,
        )
        if self.ws_connection is None:
            return  # the appliance hung up while it waited: it is welcomed when it is back
        self.send(welcome)
        if self.protocol_version >= STREAMS_VERSION:
            self._start_streams(appliance.id)
        try:
            self.actor = await self.links.connect(appliance, self)
        except ShuttingDown:
            self.close(CloseCode.GOING_AWAY, "going_away")
            return
        early, self._early = self._early, []
        for envelope in early:
            self.actor.tell(ApplianceActor.received, envelope)
        if self.ws_connection is None:
            # Closed while its actor started: on_close ran too early to tell it, so tell it now.
            self.actor.tell(ApplianceActor.disconnected)
        log.info("appliance linked", appliance=appliance.id)

    def _start_streams(self, appliance_id: str) -> None:
        """After `welcome` on version 2: one writer, control lane first, then stream data."""
        connection = self.ws_connection
        if connection is not None and connection.stream is not None:
            keep_unsent_small(connection.stream.socket)
        self.appliance_id = appliance_id
        self.streams = StreamLink(
            StreamMux("hub"),
            self._write_frame,
            on_open=self._stream_opened,
            encode_control=_encode_control,
        )
        self.streams.start()
        self.links.streams.add(appliance_id, self.streams, self.features)

    async def _write_frame(self, message: str | bytes, binary: bool) -> None:
        # (Closing: on_close stops the writer.)
        closed = (tornado.websocket.WebSocketClosedError, tornado.iostream.StreamClosedError)
        with contextlib.suppress(*closed):
            await self.write_message(message, binary=binary)

    def _stream_opened(self, stream: Stream, meta: Mapping[str, object]) -> None:
        # No feature of this hub takes a stream from an appliance yet.
        assert self.streams is not None
        self.streams.refuse(stream, "unsupported")

    def _fail(self, error: ProtocolError, *, re: str | None = None) -> None:
        """Send `error` (answering the offending message when it had an id), then close."""
        code = close_code_for(error)
        log.info("appliance refused", code=error.code, close=int(code))
        body = {"code": error.code, "message": error.message}
        self.send(Envelope.new("error", body, re=re or error.re))
        self.close(int(code), error.code)

    def _stop_timers(self) -> None:
        loop = tornado.ioloop.IOLoop.current()
        for timer in (self._deadline, self._renewal):
            if timer is not None:
                loop.remove_timeout(timer)
        self._deadline = self._renewal = None
        if self._pinger is not None:
            self._pinger.stop()
            self._pinger = None

    def on_close(self) -> None:
        """Tell the actor (the appliance is offline) or stop waiting for an add."""
        self._stop_timers()
        if self._setup is not None and not self._setup[1].done():
            self._setup[1].set_exception(NotFound(BOX_GONE))
        if self.public_key:
            self.links.waiting.discard(self.public_key, self)
        if self.streams is not None:
            self.links.streams.discard(self.appliance_id, self.streams)
            # (Kept by the loop until it ran: every stream fails with `link_closing`.)
            tornado.ioloop.IOLoop.current().add_callback(self.streams.stop)
        if self.actor is not None:
            # (A tell to an actor the shutting-down hub already stopped is dropped.)
            self.actor.tell(ApplianceActor.disconnected)


def _encode_control(control: Control) -> str:
    """A stream control message in the link's own envelope."""
    return encode(Envelope.new(control.type, cast(Mapping[str, JsonValue], control.body)))
