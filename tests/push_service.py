"""A Web Push service on loopback, for tests: it checks each push's VAPID token (signature,
audience, expiry, contact) and decrypts its aes128gcm body with the browser's keys, as a real
push service and browser would; a subscription can be made to answer 410 Gone."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import socket
import time
from typing import Any

import http_ece
import py_vapid
import tornado.httpserver
import tornado.netutil
import tornado.web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@dataclasses.dataclass
class Browser:
    """One subscribed browser: its key pair and auth secret."""

    name: str
    key: ec.EllipticCurvePrivateKey = dataclasses.field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = dataclasses.field(default_factory=lambda: os.urandom(16))
    gone: bool = False

    def keys(self) -> dict[str, str]:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"p256dh": b64url(point), "auth": b64url(self.auth)}


@dataclasses.dataclass(frozen=True)
class Delivered:
    browser: str
    payload: dict[str, Any]
    claims: dict[str, Any]
    vapid_key: str
    ttl: str


class _Push(tornado.web.RequestHandler):
    def initialize(self, service: LoopbackPushService) -> None:
        self.service = service

    def post(self, name: str) -> None:
        browser = self.service.browsers.get(name)
        if browser is None or browser.gone:
            self.set_status(410)
            return
        authorization = self.request.headers.get("Authorization", "")
        if not py_vapid.Vapid02.verify(authorization):
            self.set_status(403)
            return
        parts = dict(p.split("=", 1) for p in authorization.split(" ", 1)[1].split(","))
        claims = _claims(parts["t"])
        origin = f"http://127.0.0.1:{self.service.port}"
        now = time.time()
        if claims["aud"] != origin or not now < claims["exp"] <= now + 86400:
            self.set_status(403)
            return
        if not str(claims.get("sub", "")).startswith("mailto:"):
            self.set_status(403)
            return
        assert self.request.headers["Content-Encoding"] == "aes128gcm"
        plain = http_ece.decrypt(
            self.request.body,
            private_key=browser.key,
            auth_secret=browser.auth,
            version="aes128gcm",
        )
        self.service.delivered(
            Delivered(name, json.loads(plain), claims, parts["k"], self.request.headers["TTL"])
        )
        self.set_status(201)


class LoopbackPushService:
    """Listens on 127.0.0.1; `endpoint(browser)` is where a browser's pushes go."""

    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.pushes: list[Delivered] = []
        self.answers: list[int] = []
        self._arrived = asyncio.Event()
        [bound] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        self.port = bound.getsockname()[1]
        app = tornado.web.Application([(r"/push/([a-z0-9-]+)", _Push, {"service": self})])
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets([bound])

    def browser(self, name: str) -> Browser:
        self.browsers[name] = Browser(name)
        return self.browsers[name]

    def endpoint(self, browser: Browser) -> str:
        return f"http://127.0.0.1:{self.port}/push/{browser.name}"

    def subscription(self, browser: Browser) -> dict[str, Any]:
        """The browser's `PushSubscription.toJSON()`."""
        return {"endpoint": self.endpoint(browser), "keys": browser.keys(), "expirationTime": None}

    def delivered(self, push: Delivered) -> None:
        self.pushes.append(push)
        self._arrived.set()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivered]:
        async with asyncio.timeout(timeout):
            while len(self.pushes) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.pushes

    def stop(self) -> None:
        self._server.stop()
