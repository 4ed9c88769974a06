"""A bare protocol-level appliance for hub tests: real websocket, real Ed25519 signatures.

It follows docs/protocol.md step by step so tests can also break the rules on purpose (forged
signatures, replayed nonces) — things the simulator in `mykerio/agent/` never does.
"""

from __future__ import annotations

import ssl
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from mykerio.protocol import identity
from mykerio.protocol.envelope import Envelope, decode, encode
from mykerio.protocol.status import Knobs


class TestAppliance:
    """One appliance identity and, once connected, its socket."""

    __test__ = False  # not a pytest test class

    def __init__(self, hub_url: str, cafile: str, product: str = "control") -> None:
        self.url = hub_url.replace("https://", "wss://") + "/appliance/v1/socket"
        self.ssl = ssl.create_default_context(cafile=cafile)
        self.private_pem, self.public_key = identity.new_identity()
        self.product = product
        self.socket: WebSocketClientConnection | None = None
        self.hub_key = b""
        self.source = ""  # a local address to connect from (e.g. 127.0.0.2), or the default

    async def connect(
        self,
        *,
        nonce: bytes | None = None,
        forge: bool = False,
        multi_server: bool = False,
        name: str = "gw-brno",
        serial: str | None = None,
        factory_signature: str | None = None,
    ) -> Envelope:
        """Open a socket and run the handshake; returns the hub's answer to the proof."""
        request = HTTPRequest(self.url, ssl_options=self.ssl, network_interface=self.source or None)
        self.socket = await websocket_connect(request)
        appliance_nonce = nonce or identity.new_nonce()
        hello_body: dict[str, Any] = {
            "versions": [1],
            "nonce": identity.b64url(appliance_nonce),
            "product": self.product,
            "version": "9.4.0",
            "name": name,
        }
        if multi_server:
            hello_body["multi_server"] = True
        if serial is not None:
            hello_body["serial"] = serial
        if factory_signature is not None:
            hello_body["factory_signature"] = factory_signature
        await self.send(Envelope.new("hello", hello_body))
        challenge = await self.receive()
        if challenge.type != "challenge":
            return challenge
        hub_nonce = identity.from_b64url(str(challenge.body["nonce"]))
        self.hub_key = identity.from_b64url(str(challenge.body["hub_key"]))
        assert identity.verify_hub(
            self.hub_key,
            identity.from_b64url(str(challenge.body["hub_signature"])),
            appliance_nonce,
            hub_nonce,
        ), "the hub's signature must verify"
        signature = identity.sign_proof(self.private_pem, hub_nonce, appliance_nonce)
        if forge:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        await self.send(
            challenge.reply(
                "proof",
                {
                    "public_key": identity.b64url(self.public_key),
                    "signature": identity.b64url(signature),
                },
            )
        )
        return await self.receive()

    async def send(self, envelope: Envelope) -> None:
        assert self.socket is not None
        await self.socket.write_message(encode(envelope))

    async def receive(self) -> Envelope:
        """The next message (pings are answered and skipped)."""
        assert self.socket is not None
        while True:
            text = await self.socket.read_message()
            if text is None:
                raise ConnectionError(
                    f"closed: {self.socket.close_code} {self.socket.close_reason}"
                )
            envelope = decode(text, sent_by="hub")
            if envelope.type == "ping":
                await self.send(envelope.reply("pong", {}))
                continue
            return envelope

    async def closed(self) -> int | None:
        """Wait for the hub to close the socket; its close code."""
        assert self.socket is not None
        while await self.socket.read_message() is not None:
            pass
        code = self.socket.close_code
        self.socket.close()  # release the client side too
        return code

    async def status(self, **knobs: bool) -> None:
        await self.send(Envelope.new("status", {"knobs": dict(Knobs(**knobs).to_json())}))

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()

    async def hang_up(self) -> None:
        """Close and wait until the hub has answered the close (it has let go of the socket)."""
        assert self.socket is not None
        self.socket.close()
        while await self.socket.read_message() is not None:
            pass
