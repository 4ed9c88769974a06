"""API: Web Push (issue 15) — the hub's VAPID key, "Notify this device" (a browser's push
subscription), stopping it, and a test push. The web app manifest and the service worker are
served here too (the worker at `/sw.js`, so that its scope is the whole dashboard)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import tornado.web

from actors.push import PushActor
from web.auth import AccountHandler
from web.base import BaseHandler
from web.models.push import PushDevices, PushEndpointRequest, PushKey, PushSubscriptionRequest
from web.openapi import Answer, Operation, Route

TAG = "push"
STATIC = Path(__file__).resolve().parent / "static"


class PushKeyHandler(AccountHandler):
    """The hub's VAPID public key."""

    openapi = {
        "get": Operation(
            "The VAPID public key (applicationServerKey) to subscribe a browser with",
            TAG,
            {200: Answer("Key", PushKey)},
        )
    }

    async def get(self) -> None:
        """Read."""
        await self.current_session()
        key = await self.router.push().call(PushActor.public_key)
        self.write_model(PushKey(public_key=key))


class PushSubscriptionsHandler(AccountHandler):
    """Subscribes this browser ("Notify this device") or counts the subscribed ones."""

    openapi = {
        "get": Operation(
            "How many of your browsers get push notifications",
            TAG,
            {200: Answer("Devices", PushDevices)},
        ),
        "post": Operation(
            '"Notify this device": keep a browser\'s PushSubscription; it gets the same '
            "changes as your email (after the grace, batched, by your choices)",
            TAG,
            {201: Answer("Subscribed", PushDevices)},
            {400: "A bad endpoint or bad keys"},
            body=PushSubscriptionRequest,
        ),
    }

    async def get(self) -> None:
        """Count."""
        current = await self.current_session()
        devices = await self.router.push().call(PushActor.devices, current.user.id)
        self.write_model(PushDevices(devices=devices))

    async def post(self) -> None:
        """Subscribe."""
        body = self.body(PushSubscriptionRequest)
        current = await self.current_session()
        push = self.router.push()
        agent = self.request.headers.get("User-Agent", "")
        await push.call(
            PushActor.subscribe,
            current.user.id,
            body.endpoint,
            body.keys.p256dh,
            body.keys.auth,
            agent,
        )
        devices = await push.call(PushActor.devices, current.user.id)
        self.write_model(PushDevices(devices=devices), 201)


class PushUnsubscribeHandler(AccountHandler):
    """Stops notifying one of the caller's browsers."""

    openapi = {
        "post": Operation(
            "Stop push notifications to a browser of yours",
            TAG,
            {200: Answer("Devices", PushDevices)},
            body=PushEndpointRequest,
        )
    }

    async def post(self) -> None:
        """Unsubscribe."""
        body = self.body(PushEndpointRequest)
        current = await self.current_session()
        push = self.router.push()
        await push.call(PushActor.unsubscribe, current.user.id, body.endpoint)
        self.write_model(PushDevices(devices=await push.call(PushActor.devices, current.user.id)))


class PushTestHandler(AccountHandler):
    """Sends a test push to the caller's browsers."""

    openapi = {
        "post": Operation(
            "Send a test push notification to each of your browsers",
            TAG,
            {200: Answer("Sent", PushDevices)},
        )
    }

    async def post(self) -> None:
        """Send."""
        current = await self.current_session()
        push = self.router.push()
        outcome = await push.call(
            PushActor.push_now,
            current.user.id,
            "MyKerio",
            "Notifications reach this device.",
            "/",
        )
        devices = await push.call(PushActor.devices, current.user.id)
        self.write_model(PushDevices(devices=devices, sent=outcome.sent, dropped=outcome.dropped))


class ServiceWorkerHandler(BaseHandler):
    """`/sw.js`: the service worker, served from the root so that it controls every page."""

    openapi = {
        "get": Operation(
            "The service worker (JavaScript) that shows push notifications",
            TAG,
            {200: Answer("Script", media_type="text/javascript", schema={"type": "string"})},
        )
    }

    def get(self) -> None:
        """The script (never cached long: a new hub's worker must replace the old one)."""
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish((STATIC / "sw.js").read_bytes())


class ManifestHandler(BaseHandler):
    """`/manifest.webmanifest`: what installs the dashboard as an app."""

    openapi = {
        "get": Operation(
            "The web app manifest (installs the dashboard on phones and desktops)",
            TAG,
            {
                200: Answer(
                    "Manifest", media_type="application/manifest+json", schema={"type": "object"}
                )
            },
        )
    }

    def get(self) -> None:
        """The manifest."""
        self.set_header("Content-Type", "application/manifest+json")
        self.set_header("Cache-Control", "no-cache")
        self.finish((STATIC / "manifest.webmanifest").read_bytes())


def routes(
    route: Callable[..., Route],
    account_route: Callable[[str, type[tornado.web.RequestHandler]], Route],
) -> list[Route]:
    """The push routes (web/app.py adds them to its table)."""
    return [
        account_route("/api/v1/push/key", PushKeyHandler),
        account_route("/api/v1/me/push-subscriptions", PushSubscriptionsHandler),
        account_route("/api/v1/me/push-subscriptions/remove", PushUnsubscribeHandler),
        account_route("/api/v1/me/push-subscriptions/test", PushTestHandler),
        route("/sw.js", ServiceWorkerHandler),
        route("/manifest.webmanifest", ManifestHandler),
    ]
