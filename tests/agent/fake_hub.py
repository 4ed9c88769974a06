"""A fake hub for the appliance tests: the hub's side of docs/protocol.md, built from
`mykerio.protocol` and served by a real Tornado websocket server over TLS on loopback.

It speaks protocol version 1 only (the v2 simulator falls back to it, as with an older hub).
It verifies each proof and signs each challenge for real (with its own Ed25519 key, or an
impostor's when a test says so), answers a known key with `welcome` and an unknown one with
`pairing`, refuses a Kerio Connect Multi-Server and revoked keys, and records every message and
every close so tests can await them. Tests steer it: `add` a pairing appliance, `send` a
message, `close` the socket.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application
from tornado.websocket import WebSocketHandler

from mykerio.protocol import link
from mykerio.protocol.envelope import MAX_MESSAGE_BYTES, Envelope, JsonValue, decode, encode
from mykerio.protocol.errors import CloseCode
from mykerio.protocol.identity import (
    b64url,
    from_b64url,
    new_identity,
    new_nonce,
    public_key_of,
    sign_hub,
    verify_proof,
)
from mykerio.protocol.pairing import add_link, new_pairing_code
from mykerio.protocol.status import Knobs
from mykerio.protocol.versions import negotiate
from mykerio.tls import make_self_signed

WAIT = 5.0  # seconds a test waits for an event before failing
MULTI_SERVER_MESSAGE = "Kerio Connect Multi-Server cannot be added to MyKerio."


@dataclass
class Added:
    """An appliance the fake hub knows: what `welcome` tells it."""

    appliance_id: str
    name: str
    organization: str | None = "example.com"


@dataclass
class Closed:
    """A socket that closed: its close code and whether the hub closed it."""

    code: int | None
    by_hub: bool


@dataclass
class Connection:
    """What the fake hub knows about one socket."""

    handler: HubSocket
    appliance_nonce: bytes = b""
    hub_nonce: bytes = b""
    public_key: bytes | None = None
    linked: bool = False
    received: list[Envelope] = field(default_factory=list)


def knobs_of(status: Envelope) -> dict[str, bool]:
    """The knobs of a `status` message as a plain dict."""
    knobs = status.body["knobs"]
    assert isinstance(knobs, Mapping)
    return Knobs.from_json(knobs).to_json()


class HubSocket(WebSocketHandler):
    """`/appliance/v1/socket` of the fake hub."""

    hub: FakeHub
    connection: Connection
    closed_by_hub: bool

    def initialize(self, hub: FakeHub) -> None:
        self.hub = hub

    async def get(self, *args: str, **kwargs: str) -> None:
        if self.hub.busy:  # refuse the upgrade as the real hub does under a storm
            self.set_status(503)
            self.set_header("Retry-After", str(self.hub.busy.pop(0)))
            self.finish()
            return
        await super().get(*args, **kwargs)

    def open(self, *args: str, **kwargs: str) -> None:
        self.connection = Connection(self)
        self.closed_by_hub = False
        self.hub.connections.append(self.connection)
        self.hub.opened.put_nowait(self.connection)

    def on_message(self, message: str | bytes) -> None:
        envelope = decode(message, sent_by="appliance")
        self.connection.received.append(envelope)
        self.hub.messages.put_nowait(envelope)
        self.hub.handle(self.connection, envelope)

    def on_close(self) -> None:
        self.hub.closes.put_nowait(Closed(self.close_code, self.closed_by_hub))

    def send(self, envelope: Envelope) -> None:
        """Write one message."""
        self.write_message(encode(envelope))

    def close_with(self, code: int, reason: str) -> None:
        """Close the socket from the hub's side."""
        self.closed_by_hub = True
        self.close(code, reason)


class FakeHub:
    """The fake hub; `start` it, point appliances at `url` trusting `cafile`, `stop` it."""

    def __init__(self, tls_dir: Path) -> None:
        self.tls_dir = tls_dir
        self.private_pem, self.public_key = new_identity()
        self.signing_pem = self.private_pem  # an impostor test swaps in another key
        self.sign_wrong_nonce = False
        self.mute = False  # a hub that reads but never answers
        self.busy: list[int] = []  # Retry-After seconds for the next upgrades, refused 503
        self.added: dict[bytes, Added] = {}
        self.revoked: set[bytes] = set()
        self.connections: list[Connection] = []
        self.opened: asyncio.Queue[Connection] = asyncio.Queue()
        self.messages: asyncio.Queue[Envelope] = asyncio.Queue()
        self.closes: asyncio.Queue[Closed] = asyncio.Queue()
        self.public_url = "https://hub.example.com"
        self._server: HTTPServer | None = None
        self.url = ""
        self.cafile = ""

    async def start(self) -> None:
        """Listen on a loopback port with a fresh self-signed certificate."""
        self.tls_dir.mkdir(parents=True, exist_ok=True)
        cert, key = self.tls_dir / "cert.pem", self.tls_dir / "key.pem"
        make_self_signed(cert, key, datetime.now(UTC))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        app = Application(
            [(link.SOCKET_PATH, HubSocket, {"hub": self})],
            websocket_max_message_size=MAX_MESSAGE_BYTES,
        )
        sockets = bind_sockets(0, "127.0.0.1")
        self._server = HTTPServer(app, ssl_options=context)
        self._server.add_sockets(sockets)
        self.url = f"https://127.0.0.1:{sockets[0].getsockname()[1]}"
        self.cafile = str(cert)

    async def stop(self) -> None:
        """Close every socket ("going away") and stop listening."""
        for connection in self.connections:
            if connection.handler.ws_connection is not None:
                connection.handler.close_with(CloseCode.GOING_AWAY, "going_away")
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    # What the hub does with the appliance's messages.

    def handle(self, connection: Connection, envelope: Envelope) -> None:
        """Answer `envelope` as docs/protocol.md says a hub does."""
        body = envelope.body
        if self.mute:
            return
        if envelope.type == "hello":
            self._challenge(connection, envelope)
        elif envelope.type == "proof":
            self._check_proof(connection, envelope)
        elif envelope.type == "removed" and connection.public_key is not None:
            self.added.pop(connection.public_key, None)
            self.revoked.add(connection.public_key)
            connection.handler.close_with(CloseCode.REMOVED, "removed")
        elif envelope.type == "error":
            assert isinstance(body["code"], str)

    def _challenge(self, connection: Connection, hello: Envelope) -> None:
        if hello.body.get("multi_server") is True:
            refusal = {"code": "multi_server", "message": MULTI_SERVER_MESSAGE}
            connection.handler.send(hello.reply("refused", refusal))
            connection.handler.close_with(CloseCode.REFUSED, "multi_server")
            return
        versions = hello.body["versions"]
        assert isinstance(versions, tuple)
        connection.appliance_nonce = from_b64url(str(hello.body["nonce"]))
        connection.hub_nonce = new_nonce()
        signed_nonce = new_nonce() if self.sign_wrong_nonce else connection.hub_nonce
        signature = sign_hub(self.signing_pem, connection.appliance_nonce, signed_nonce)
        body: dict[str, JsonValue] = {
            "version": negotiate([int(str(version)) for version in versions], supported=(1,)),
            "nonce": b64url(connection.hub_nonce),
            "hub_time": datetime.now(UTC).isoformat(),
            "hub_key": b64url(public_key_of(self.signing_pem)),
            "hub_signature": b64url(signature),
        }
        connection.handler.send(hello.reply("challenge", body))

    def _check_proof(self, connection: Connection, proof: Envelope) -> None:
        public_key = from_b64url(str(proof.body["public_key"]))
        signature = from_b64url(str(proof.body["signature"]))
        handler = connection.handler
        if not verify_proof(
            public_key, signature, connection.hub_nonce, connection.appliance_nonce
        ):
            error = {"code": "forged_proof", "message": "the proof does not verify"}
            handler.send(proof.reply("error", error))
            handler.close_with(CloseCode.FORGED_PROOF, "forged_proof")
            return
        connection.public_key = public_key
        if public_key in self.revoked:
            error = {"code": "revoked_key", "message": "this appliance was removed"}
            handler.send(proof.reply("error", error))
            handler.close_with(CloseCode.REVOKED_KEY, "revoked_key")
        elif public_key in self.added:
            self._welcome(connection, proof)
        else:
            code = new_pairing_code()
            body: dict[str, JsonValue] = {
                "code": code,
                "link": add_link(self.public_url, code),
                "expires_at": datetime.now(UTC).isoformat(),
            }
            handler.send(proof.reply("pairing", body))

    def _welcome(self, connection: Connection, proof: Envelope | None) -> None:
        assert connection.public_key is not None
        added = self.added[connection.public_key]
        body: dict[str, JsonValue] = {
            "appliance_id": added.appliance_id,
            "name": added.name,
            "hub_key": b64url(self.public_key),
        }
        if added.organization is not None:
            body["organization"] = added.organization
        welcome = (
            proof.reply("welcome", body) if proof is not None else Envelope.new("welcome", body)
        )
        connection.linked = True
        connection.handler.send(welcome)

    # What tests do.

    def add(self, public_key: bytes, added: Added) -> None:
        """Know `public_key`; a socket waiting in pairing with it is welcomed at once."""
        self.added[public_key] = added
        for connection in self.connections:
            waiting = connection.public_key == public_key and not connection.linked
            if waiting and connection.handler.ws_connection is not None:
                self._welcome(connection, None)

    def send(self, type: str, body: dict[str, JsonValue]) -> Envelope:
        """Send a message on the newest socket; the message sent."""
        envelope = Envelope.new(type, body)
        self.connections[-1].handler.send(envelope)
        return envelope

    def close(self, code: int, reason: str) -> None:
        """Close the newest socket from the hub's side."""
        self.connections[-1].handler.close_with(code, reason)

    async def next_message(self, type: str) -> Envelope:
        """The next message of `type` the appliance sends (others before it are skipped)."""
        async with asyncio.timeout(WAIT):
            while True:
                envelope = await self.messages.get()
                if envelope.type == type:
                    return envelope

    async def next_connection(self) -> Connection:
        """The next socket an appliance opens."""
        async with asyncio.timeout(WAIT):
            return await self.opened.get()

    async def next_close(self) -> Closed:
        """The next socket that closes."""
        async with asyncio.timeout(WAIT):
            return await self.closes.get()
