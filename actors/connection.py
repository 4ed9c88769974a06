"""ConnectionActor: one appliance socket's life, from `hello` until it closes.

It owns what the websocket handler used to: the handshake (version and features, the hub's
signature, the appliance's proof, the replay ledger), the gate's answer (welcome a known key,
refuse a revoked one, or show a pairing code), the waiting life (pings, a fresh code once the
old one expired, being added by a member), a Kerio Control box's set-up by serial (`setup`, an
ask whose answer is the box's `setup_result`) and, once linked, handing the socket over to the
appliance's `ApplianceActor`: the socket then gives its frames to that actor directly and this
one stops, since a linked connection needs nothing of it (a fleet of 19,000 linked appliances
kept 19,000 idle connection actors, ~4 KB each). The socket handler only decodes frames, gives
them to this actor and writes what the actor gives it through the `Link`.

Timers (handshake deadline, code renewal, waiting pings, set-up answer, set-up close) run on
the event loop's own clock and come back to the actor as messages, so its state is only ever
touched one message at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from actors.appliance import ApplianceActor
from actors.clients import ActorClient
from actors.gate import Admission, GateActor, PairingOffer
from actors.relay import RelayActor, RelayFrom, answer_relay_email
from actors.runtime import LoopActor, LoopRuntime
from actors.supervisor import Cancellable, ShuttingDown
from mykerio.errors import Conflict, NotFound, Unavailable
from mykerio.models import Appliance
from mykerio.protocol import identity
from mykerio.protocol.envelope import Envelope, JsonValue
from mykerio.protocol.errors import CloseCode, ProtocolError, close_code_for
from mykerio.protocol.features import check_offered, negotiate_features
from mykerio.protocol.link import HANDSHAKE_TIMEOUT, PING_INTERVAL
from mykerio.protocol.pairing import PAIRING_VALID
from mykerio.protocol.relay import FEATURE as RELAY
from mykerio.protocol.text import sendable_name
from mykerio.protocol.versions import STREAMS_VERSION, negotiate

MULTI_SERVER = (
    "Kerio Connect Multi-Server cannot be added to MyKerio. Only Kerio Connect installed on "
    "premises as a single server can be managed in MyKerio."
)
BOX_GONE = (
    "The box is no longer connected to MyKerio. Check its internet connection, then find it again."
)
# A box set up by serial restarts; the hub closes a socket still open after this many seconds.
SETUP_CLOSE_SECONDS = 10.0
# A waiting appliance gets a fresh code once its code has expired by the hub's clock, checked
# this often (seconds; a little over the validity, so one check finds it expired; tests shorten
# it).
PAIRING_RENEW_SECONDS = PAIRING_VALID.total_seconds() + 1.0
# A waiting socket is pinged this often (seconds), as a linked one is (tests shorten it).
WAITING_PING_SECONDS = PING_INTERVAL


class State(Enum):
    """Where a connection is in its life (docs/protocol.md, section 4)."""

    HELLO = "hello"
    PROOF = "proof"
    PAIRING = "pairing"  # waiting to be added (or set up by serial)
    SET_UP = "set_up"  # set up by serial: the box restarts and is welcomed when back
    LINKED = "linked"
    HANDED_OVER = "handed_over"  # linked, and the socket talks to its ApplianceActor now
    CLOSED = "closed"


class Link(Protocol):
    """The appliance's socket as its connection sees it (the websocket handler)."""

    def send(self, envelope: Envelope) -> bool:
        """Queue a message; False if the socket is gone or its send queue is full."""
        ...

    def ping_appliance(self) -> bool:
        """A liveness ping (a ping frame on version 2, a JSON `ping` on 1)."""
        ...

    def close(self, code: int, reason: str) -> None:
        """Close the socket."""
        ...

    def negotiated(self, version: int) -> None:
        """The protocol version chosen at `hello` (it says how to ping)."""
        ...

    def admitted(self) -> None:
        """The handshake is done (pairing or linked): pongs are only noted from now on, and
        its slot of the hub's handshake budget goes to the next appliance."""
        ...

    @property
    def closing(self) -> bool:
        """Whether the socket is closed or closing (its handshake's work would be wasted)."""
        ...

    def start_streams(self, appliance_id: str, features: Mapping[str, int]) -> None:
        """Linked with version 2: binary frames and stream control messages may flow now."""
        ...

    def hand_over(self, appliance: ActorClient[ApplianceActor]) -> None:
        """Linked: from now on give every frame (and the close) to `appliance`."""
        ...

    @property
    def ip(self) -> str:
        """The address the appliance connected from."""
        ...


class Waiting(Protocol):
    """The appliances waiting to be added (by key, and by serial for boxes)."""

    def add(self, key: bytes, entry: WaitingAppliance) -> None:
        """Wait for `key` to be added (a newer entry of the same key replaces the older)."""
        ...

    def discard(self, key: bytes, entry: WaitingAppliance) -> None:
        """Stop waiting."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class WaitingAppliance:
    """What the add flows see of a waiting connection: its `hello` facts and its actor."""

    public_key: bytes
    product: str
    version: str
    host_name: str
    serial: str
    ip: str
    certified: bool  # its maker signed its serial and key (`factory_signature`)
    connection: ActorClient[ConnectionActor]
    close: Callable[[int, str], None]


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionContext:
    """What every connection needs from the rest of the hub (the composition root builds it)."""

    gate: Callable[[], ActorClient[GateActor]]
    # What a proven key is (`actors.gate.admit` over the store): asked by each connection
    # itself, so that a storm's lookups run side by side instead of in line in the gate.
    admit: Callable[[bytes], Awaitable[Admission]]
    connect: Callable[[Appliance, Any], Awaitable[ActorClient[ApplianceActor]]]
    hub_key_pem: bytes
    nonces: identity.NonceLedger
    waiting: Waiting
    ask_timeout: float
    factory_keys: tuple[bytes, ...] = ()
    # The notification relay (None: this hub relays nothing; `relay_email` is unexpected).
    relay: Callable[[], ActorClient[RelayActor]] | None = None


class ConnectionActor(LoopActor):
    """The hub's side of one appliance socket, before and after it is linked."""

    kind = "connection"
    stop_together = True

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        link: Link,
        context: ConnectionContext,
    ) -> None:
        super().__init__(runtime=runtime, name=name)
        self._link = link
        self._context = context
        self._loop = runtime.loop
        self.state = State.HELLO
        self._hello: Envelope | None = None
        self._hub_nonce = b""
        self._public_key = b""
        self._version = 1
        self._features: dict[str, int] = {}
        self._certified = False
        self._waiting: WaitingAppliance | None = None
        self._appliance: ActorClient[ApplianceActor] | None = None
        self._deadline: Cancellable | None = None
        self._renewal: Cancellable | None = None
        self._pinger: Cancellable | None = None
        # The set-up in flight: its message id, its answer, and its timer.
        self._setup: tuple[str, asyncio.Future[Mapping[str, Any]], Cancellable] | None = None
        self._setup_sent_as = "setup"  # or "setup_check": only a `setup` makes the box restart

    def on_start(self) -> None:
        """Start the handshake clock."""
        self._deadline = self._later(HANDSHAKE_TIMEOUT, ConnectionActor.handshake_timeout)

    # What the socket hands over.
    async def received(self, envelope: Envelope) -> None:
        """A decoded, checked frame from the appliance."""
        try:
            await self._received(envelope)
        except ProtocolError as error:
            self._fail(error, re=envelope.id)

    async def closed(self) -> None:
        """The socket closed: stop waiting, fail a set-up in flight, tell the appliance actor."""
        self.state = State.CLOSED
        self._stop_timers()
        if self._setup is not None and not self._setup[1].done():
            self._setup[1].set_exception(NotFound(BOX_GONE))
        self._stop_waiting()
        if self._appliance is not None:
            self._appliance.tell(ApplianceActor.disconnected)
        self.stop()

    # Timers.
    def handshake_timeout(self) -> None:
        """The handshake took too long."""
        if self.state in (State.HELLO, State.PROOF):
            self._link.close(CloseCode.TOO_SLOW, "handshake_timeout")

    def ping_due(self) -> None:
        """Ping a waiting appliance, as a linked one is pinged."""
        if self.state is State.PAIRING:
            self._link.ping_appliance()
            self._pinger = self._later(WAITING_PING_SECONDS, ConnectionActor.ping_due)

    async def renew_code(self, expires_at: datetime | None) -> None:
        """Once the code expired while the appliance waited (None: now), give it a new one."""
        if self.state is not State.PAIRING:
            return
        try:
            offer = await self._gate().call(
                GateActor.offer_pairing,
                self._public_key,
                self.product,
                self.version,
                self.host_name,
                self._link.ip,
                expires_at,
            )
        except Exception as error:  # noqa: BLE001 - any failure: the appliance comes back
            self.log.warning("cannot renew a pairing code", error=type(error).__name__)
            self._link.close(CloseCode.GOING_AWAY, "going_away")  # it reconnects, gets a new one
            return
        if self.state is not State.PAIRING:
            return
        if offer is not None:
            self._send_pairing(offer, re=None)
        elif expires_at is not None:
            self._arm_renewal(expires_at, PAIRING_RENEW_SECONDS)  # not expired by the hub's clock

    def setup_timed_out(self, message_id: str) -> None:
        """The box did not answer its `setup` in time."""
        if self._setup is not None and self._setup[0] == message_id:
            self._setup_failed(
                Unavailable(
                    "The box did not answer. Check that it is still connected, then try again."
                )
            )

    def close_set_up(self) -> None:
        """A box set up by serial did not hang up to restart: close it, so that it comes back."""
        if self.state is State.SET_UP:
            self._link.close(CloseCode.NORMAL, "set_up")

    # What the add flows ask.
    async def welcome_added(self, appliance_id: str) -> None:
        """A member added this appliance while it waited: welcome it."""
        if self.state is not State.PAIRING or self._setup is not None:
            # Being set up (or set up) by serial: that flow welcomes it after its restart.
            return
        admission = await self._context.admit(self._public_key)
        if admission.appliance is not None and admission.appliance.id == appliance_id:
            await self._link_appliance(admission, re=None)

    async def setup(
        self, body: Mapping[str, JsonValue], timeout: float, check: bool = False
    ) -> asyncio.Future[Mapping[str, Any]]:
        """Send a waiting Kerio Control box its first administrator (`setup`; with `check`,
        `setup_check`: the box only says whether it would accept it, and changes nothing).

        The answer is a future of the box's `setup_result` body, settled when the box answers
        (this actor goes on meanwhile: the answer is one of its messages), `Unavailable` after
        `timeout`, `NotFound` if the box goes. The body carries credentials: it goes to this
        socket only and is never logged.
        """
        if self.state is not State.PAIRING:
            raise NotFound(BOX_GONE)
        if self._setup is not None:
            raise Conflict("Someone is setting up this box right now. Try again in a minute.")
        message = Envelope.new("setup_check" if check else "setup", body)
        if not check:
            # Its "add this appliance" code must not add it elsewhere meanwhile.
            await self._gate().call(GateActor.withdraw_pairings, self._public_key)
        if self.state is not State.PAIRING or not self._link.send(message):
            if not check:
                self._renew_now()
            raise NotFound(BOX_GONE)
        future: asyncio.Future[Mapping[str, Any]] = self._loop.create_future()
        timer = self._later(timeout, ConnectionActor.setup_timed_out, message.id)
        self._setup = (message.id, future, timer)
        self._setup_sent_as = message.type
        return future

    # Facts of its `hello`, for the add flows.
    @property
    def product(self) -> str:
        return str(self._hello.body["product"]) if self._hello is not None else ""

    @property
    def version(self) -> str:
        return str(self._hello.body["version"]) if self._hello is not None else ""

    @property
    def host_name(self) -> str:
        return str(self._hello.body.get("name", "")) if self._hello is not None else ""

    @property
    def serial(self) -> str:
        return str(self._hello.body.get("serial", "")) if self._hello is not None else ""

    # Inside.
    async def _received(self, envelope: Envelope) -> None:
        state, kind = self.state, envelope.type
        if (state, kind) == (State.HELLO, "hello"):
            self._on_hello(envelope)
        elif (state, kind) == (State.PROOF, "proof"):
            await self._on_proof(envelope)
        elif state is State.LINKED:
            # Frames that came before the socket was handed over: the appliance's actor judges
            # them as it judges those after (None: the hub is shutting down).
            if self._appliance is not None:
                self._appliance.tell(ApplianceActor.received, envelope)
            self.hand_over()
        elif kind == "pong" and state in (State.PAIRING, State.SET_UP):
            return  # (the socket noted it was heard)
        elif state is State.PAIRING and kind == "setup_result":
            self._setup_answered(envelope)
        elif (
            kind == "relay_email"
            and state is State.PAIRING
            and RELAY in self._features
            and self._context.relay is not None
        ):
            # (A linked appliance relays through its ApplianceActor.)
            await answer_relay_email(
                self._context.relay,
                self._link,
                envelope,
                RelayFrom(
                    key_id=identity.public_key_id(self._public_key),
                    name=self.host_name or self.product,
                    org_id="",
                ),
            )
        elif kind == "error":
            self._link.close(CloseCode.NORMAL, "peer_error")
        elif state is not State.CLOSED:
            raise ProtocolError("unexpected_message", f"{kind} is not expected now")

    def _on_hello(self, hello: Envelope) -> None:
        body = hello.body
        if body.get("multi_server") is True:
            self._link.send(
                hello.reply("refused", {"code": "multi_server", "message": MULTI_SERVER})
            )
            self._link.close(CloseCode.REFUSED, "multi_server")
            return
        if "serial" in body and body["product"] != "control":
            raise ProtocolError("bad_body", "only a Kerio Control box has a serial number")
        versions = body.get("versions")
        version = negotiate([int(str(v)) for v in versions] if isinstance(versions, tuple) else [])
        if version >= STREAMS_VERSION:
            self._features = negotiate_features(check_offered(body.get("features", {})))
        self._version = version
        self._link.negotiated(version)
        appliance_nonce = identity.from_b64url(str(body["nonce"]))
        if not self._context.nonces.use(appliance_nonce, time.monotonic()):
            raise ProtocolError("replayed_nonce", "this nonce was used before")
        self._hello = hello
        self._hub_nonce = identity.new_nonce()
        pem = self._context.hub_key_pem
        signature = identity.sign_hub(pem, appliance_nonce, self._hub_nonce)
        self.state = State.PROOF
        challenge: dict[str, JsonValue] = {
            "version": version,
            "nonce": identity.b64url(self._hub_nonce),
            "hub_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "hub_key": identity.b64url(identity.public_key_of(pem)),
            "hub_signature": identity.b64url(signature),
        }
        if version >= STREAMS_VERSION:
            challenge["features"] = dict(self._features)
        self._link.send(hello.reply("challenge", challenge))

    async def _on_proof(self, proof: Envelope) -> None:
        assert self._hello is not None
        public_key = identity.from_b64url(str(proof.body["public_key"]))
        signature = identity.from_b64url(str(proof.body["signature"]))
        appliance_nonce = identity.from_b64url(str(self._hello.body["nonce"]))
        if identity.is_weak_public_key(public_key):
            # A small-order key verifies signatures made without any private key.
            raise ProtocolError("weak_key", "the public key is of small order or not canonical")
        if not identity.verify_proof(public_key, signature, self._hub_nonce, appliance_nonce):
            raise ProtocolError("forged_proof", "the proof does not verify")
        self._public_key = public_key
        self._certified = self._certified_by_maker(public_key)
        if self._gone():
            return  # it hung up (or timed out) while the proof waited: drop the work
        try:
            admission = await self._context.admit(public_key)
        except (Exception, asyncio.CancelledError) as error:  # any failure: it comes back
            if _being_cancelled():
                raise  # (this actor itself is being stopped)
            # The store is closing or failing: the appliance reconnects after its delay.
            self.log.warning("cannot admit an appliance", error=type(error).__name__)
            self._link.close(CloseCode.GOING_AWAY, "going_away")
            return
        if self._gone():
            return
        if admission.revoked:
            raise ProtocolError("revoked_key", "this appliance was removed; pair it again")
        if admission.appliance is not None:
            await self._link_appliance(admission, re=proof.id)
            return
        offer = await self._gate().call(
            GateActor.offer_pairing,
            public_key,
            self.product,
            self.version,
            self.host_name,
            self._link.ip,
        )
        assert offer is not None  # (None only when replacing a code)
        if self._gone():
            return  # it hung up meanwhile
        self.state = State.PAIRING
        self._link.admitted()
        self._cancel(self._deadline)
        self._waiting = WaitingAppliance(
            public_key=public_key,
            product=self.product,
            version=self.version,
            host_name=self.host_name,
            serial=self.serial,
            ip=self._link.ip,
            certified=self._certified,
            connection=ActorClient(self.actor_ref, self._context.ask_timeout),
            close=self._link.close,
        )
        self._context.waiting.add(public_key, self._waiting)
        self._send_pairing(offer, re=proof.id)
        self._pinger = self._later(WAITING_PING_SECONDS, ConnectionActor.ping_due)
        self.log.info("appliance waiting to be added", key=identity.public_key_id(public_key))

    def _certified_by_maker(self, public_key: bytes) -> bool:
        assert self._hello is not None
        signature = self._hello.body.get("factory_signature")
        if not self.serial or not isinstance(signature, str):
            return False
        raw = identity.from_b64url(signature)
        return any(
            identity.verify_factory(maker, raw, self.serial, public_key)
            for maker in self._context.factory_keys
        )

    def _send_pairing(self, offer: PairingOffer, *, re: str | None) -> None:
        body: dict[str, JsonValue] = {
            "code": offer.code,
            "link": offer.link,
            "expires_at": offer.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self._link.send(Envelope.new("pairing", body, re=re))
        # (A code given back to a reconnecting key has less than its 15 minutes left.)
        self._arm_renewal(offer.expires_at, min(PAIRING_RENEW_SECONDS, offer.valid_for + 1.0))

    def _arm_renewal(self, expires_at: datetime, delay: float) -> None:
        self._cancel(self._renewal)  # the code it would renew is replaced already
        self._renewal = self._later(max(0.0, delay), ConnectionActor.renew_code, expires_at)

    def _renew_now(self) -> None:
        """Not set up: it waits on, so it shows a working code again."""
        ActorClient[ConnectionActor](self.actor_ref, self._context.ask_timeout).tell(
            ConnectionActor.renew_code, None
        )

    def _setup_answered(self, result: Envelope) -> None:
        if self._setup is None or result.re != self._setup[0]:
            raise ProtocolError("unexpected_message", "setup_result answers no pending setup")
        _id, future, timer = self._setup
        self._setup = None
        timer.cancel()
        if not future.done():
            future.set_result(result.body)
        ok = result.body.get("ok") is True
        if ok and self._setup_sent_as == "setup":
            # The box restarts to apply its set-up and is welcomed when it is back: it is no
            # longer waiting here. One that does not hang up is closed, so that it comes back.
            self.state = State.SET_UP
            self._stop_waiting()
            self._stop_timers()
            self._deadline = self._later(SETUP_CLOSE_SECONDS, ConnectionActor.close_set_up)
        elif self._setup_sent_as == "setup":
            self._renew_now()

    def _setup_failed(self, error: Exception) -> None:
        assert self._setup is not None
        _id, future, timer = self._setup
        self._setup = None
        timer.cancel()
        if not future.done():
            future.set_exception(error)
        if self._setup_sent_as == "setup" and self.state is State.PAIRING:
            self._renew_now()

    async def _link_appliance(self, admission: Admission, *, re: str | None) -> None:
        appliance = admission.appliance
        assert appliance is not None
        if self.state is State.CLOSED:
            return  # the appliance hung up while it waited: it is welcomed when it is back
        self.state = State.LINKED
        self._link.admitted()
        self._stop_timers()
        self._stop_waiting()
        body: dict[str, JsonValue] = {
            "appliance_id": appliance.id,
            "name": sendable_name(appliance.name),  # (one stored before the name rule too)
            "hub_key": identity.b64url(identity.public_key_of(self._context.hub_key_pem)),
        }
        if admission.organization:
            body["organization"] = sendable_name(admission.organization)
        self._link.send(Envelope.new("welcome", body, re=re))
        if self._version >= STREAMS_VERSION:
            self._link.start_streams(appliance.id, self._features)
        try:
            self._appliance = await self._context.connect(appliance, self._link)
        except ShuttingDown:
            self._link.close(CloseCode.GOING_AWAY, "going_away")
            return
        if self.state is State.CLOSED:
            # Closed while its actor started: `closed` ran too early to tell it, so tell it now.
            self._appliance.tell(ApplianceActor.disconnected)
            return
        self.log.info("appliance linked", appliance=appliance.id)
        self.hand_over()

    def hand_over(self) -> None:
        """Give the socket to the appliance's actor once none of its frames waits here: frames
        queued in this inbox go on first (passed on in order by `received`), so the appliance
        actor sees them in the order they came; until then this tells itself to look again,
        behind whatever came meanwhile."""
        if self.state is not State.LINKED or self._appliance is None:
            return
        if self.actor_inbox.items:
            ActorClient(self.actor_ref, 0.0).tell(ConnectionActor.hand_over)
            return
        self.state = State.HANDED_OVER
        self._link.hand_over(self._appliance)
        self.stop()

    def _fail(self, error: ProtocolError, *, re: str | None = None) -> None:
        """Send `error` (answering the offending message), then close."""
        code = close_code_for(error)
        self.log.info("appliance refused", code=error.code, close=int(code))
        body: dict[str, JsonValue] = {"code": error.code, "message": error.message}
        self._link.send(Envelope.new("error", body, re=re or error.re))
        self._link.close(int(code), error.code)

    def _gone(self) -> bool:
        """Closed or closing: work for this socket would be wasted."""
        return self.state is State.CLOSED or self._link.closing

    def _gate(self) -> ActorClient[GateActor]:
        return self._context.gate()

    def _later(self, delay: float, method: Callable[..., object], *args: Any) -> Cancellable:
        client: ActorClient[ConnectionActor] = ActorClient(self.actor_ref, 0.0)
        return self._loop.call_later(delay, lambda: client.tell(method, *args))

    def _stop_waiting(self) -> None:
        if self._waiting is not None:
            self._context.waiting.discard(self._public_key, self._waiting)
            self._waiting = None

    def _stop_timers(self) -> None:
        for timer in (self._deadline, self._renewal, self._pinger):
            self._cancel(timer)
        self._deadline = self._renewal = self._pinger = None

    @staticmethod
    def _cancel(timer: Cancellable | None) -> None:
        if timer is not None:
            timer.cancel()


def _being_cancelled() -> bool:
    """Whether the running task itself is being cancelled (not just something it awaited)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
