"""PushActor: Web Push to the browsers where people chose "Notify this device".

The notifier hands over each person's window of changes (`push`), after the same grace,
batching and choices as their email. Each subscription gets its own post: the message is
encrypted for that browser (aes128gcm, in a worker thread: the key agreement is CPU work) and
signed for its push service (VAPID), then posted with the web layer's HTTP client, at most
`PARALLEL` at once. A push service answering 404 or 410 has dropped the subscription: so does
the hub. 429, 5xx, a timeout or a refused connection is retried with backoff (a few times: a
push is worth little once late, and its TTL ends it anyway); other answers give up.

Endpoints are URLs a browser gave, so they are checked like webhooks (`mykerio.webhooks
.addresses`): never the hub's own network unless `[notifications] push_allow_private`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import Callable, Coroutine
from typing import Any

from actors.runtime import LoopActor, LoopRuntime
from actors.supervisor import Scheduler
from mykerio.clock import Clock
from mykerio.errors import InvalidInput
from mykerio.models import PushSubscription
from mykerio.push.crypto import Subscriber, VapidKey, encrypt, from_b64url, push_headers
from mykerio.store.base import Store
from mykerio.webhooks.addresses import url_problem
from mykerio.webhooks.transport import WebhookTransport, WebhookUnreachable

PARALLEL = 32
MAX_SUBSCRIPTIONS = 20  # per person
TTL = 24 * 3600  # seconds a push service keeps an undelivered push
RETRIES = (2.0, 10.0, 60.0)  # seconds before each retry


@dataclasses.dataclass(frozen=True, slots=True)
class PushOutcome:
    """How one fan-out went (for tests and the benchmark)."""

    sent: int
    dropped: int  # subscriptions the push service no longer knows (404, 410)
    retrying: int
    failed: int


def subscription_id(endpoint: str) -> str:
    """A subscription's key: a hash of its endpoint."""
    return hashlib.sha256(endpoint.encode()).hexdigest()[:32]


class PushActor(LoopActor):
    """Keeps the subscriptions and pushes to them."""

    kind = "push"

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        store: Store,
        clock: Clock,
        vapid: VapidKey,
        subject: str,
        transport: WebhookTransport,
        allow_private: bool = False,
        schedule: Scheduler | None = None,
        encrypt_off_loop: Callable[[Subscriber, bytes], asyncio.Future[bytes]] | None = None,
    ) -> None:
        super().__init__(runtime=runtime, name=name)
        self._store = store
        self._clock = clock
        self._key = vapid
        self._subject = subject
        self._transport = transport
        self._allow_private = allow_private
        self._schedule: Scheduler = schedule or runtime.loop.call_later
        self._encrypt = encrypt_off_loop or (
            lambda subscriber, payload: asyncio.ensure_future(
                asyncio.to_thread(encrypt, subscriber, payload)
            )
        )
        self._slots = asyncio.Semaphore(PARALLEL)
        self._tasks: set[asyncio.Task[object]] = set()

    def on_stop(self) -> None:
        """Pushes in flight end with the hub (a push is no use much later)."""
        for task in self._tasks:
            task.cancel()

    def public_key(self) -> str:
        """The `applicationServerKey` browsers subscribe with."""
        return self._key.public_key

    async def subscribe(
        self, user_id: str, endpoint: str, p256dh: str, auth: str, user_agent: str
    ) -> None:
        """Keep a browser's subscription ("Notify this device")."""
        problem = url_problem(endpoint, allow_private=self._allow_private)
        if problem is None and not self._allow_private and not endpoint.startswith("https://"):
            problem = "A push endpoint uses https."
        if problem is not None:
            raise InvalidInput(problem)
        try:
            point, secret = from_b64url(p256dh), from_b64url(auth)
        except ValueError:
            raise InvalidInput("The subscription's keys are not base64url.") from None
        if len(point) != 65 or point[0] != 4 or len(secret) != 16:
            raise InvalidInput("The subscription's keys are not a P-256 key and a 16-byte secret.")
        mine = await self._store.push_subscriptions.of_user(user_id)
        new_id = subscription_id(endpoint)
        if len(mine) >= MAX_SUBSCRIPTIONS and all(s.id != new_id for s in mine):
            raise InvalidInput(f"At most {MAX_SUBSCRIPTIONS} devices can be notified.")
        await self._store.push_subscriptions.put(
            PushSubscription(
                id=new_id,
                at=self._clock.now(),
                user_id=user_id,
                endpoint=endpoint,
                p256dh=p256dh,
                auth=auth,
                user_agent=user_agent[:300],
            )
        )

    async def unsubscribe(self, user_id: str, endpoint: str) -> None:
        """Stop notifying a browser (only the person's own)."""
        wanted = subscription_id(endpoint)
        for subscription in await self._store.push_subscriptions.of_user(user_id):
            if subscription.id == wanted:
                await self._store.push_subscriptions.delete(wanted)

    async def devices(self, user_id: str) -> int:
        """How many browsers the person has subscribed."""
        return len(await self._store.push_subscriptions.of_user(user_id))

    async def push(self, user_id: str, title: str, body: str, url: str) -> int:
        """Start pushing one message to every browser of the person (the posts run as tasks
        of their own: this answers at once, with how many browsers it goes to)."""
        subscriptions = await self._store.push_subscriptions.of_user(user_id)
        payload = json.dumps({"title": title, "body": body, "url": url}).encode()
        for subscription in subscriptions:
            self._start(self._deliver(subscription, payload, 0))
        return len(subscriptions)

    async def push_now(self, user_id: str, title: str, body: str, url: str) -> PushOutcome:
        """Push one message to every browser of the person and wait for the first attempts
        (a person's "Send a test notification"; retries go on in the background)."""
        subscriptions = await self._store.push_subscriptions.of_user(user_id)
        if not subscriptions:
            return PushOutcome(0, 0, 0, 0)
        payload = json.dumps({"title": title, "body": body, "url": url}).encode()
        results = await asyncio.gather(
            *(self._deliver(subscription, payload, 0) for subscription in subscriptions)
        )
        return PushOutcome(
            sent=results.count("sent"),
            dropped=results.count("dropped"),
            retrying=results.count("retrying"),
            failed=results.count("failed"),
        )

    async def _deliver(self, subscription: PushSubscription, payload: bytes, retry: int) -> str:
        subscriber = Subscriber(subscription.endpoint, subscription.p256dh, subscription.auth)
        async with self._slots:
            try:
                body = await self._encrypt(subscriber, payload)
                headers = push_headers(
                    self._key, subscription.endpoint, self._subject, self._clock.now(), TTL
                )
                status = await self._transport.post(subscription.endpoint, headers, body)
            except WebhookUnreachable as error:
                status, problem = 0, str(error)
            except ValueError as error:  # keys a browser gave that do not work
                self.log.warning("push subscription unusable", error=str(error))
                await self._store.push_subscriptions.delete(subscription.id)
                return "dropped"
            else:
                problem = f"answered {status}"
        if 200 <= status < 300:
            return "sent"
        if status in (404, 410):
            self.log.info("push subscription gone", status=status)
            await self._store.push_subscriptions.delete(subscription.id)
            return "dropped"
        if (status == 0 or status == 429 or status >= 500) and retry < len(RETRIES):
            self.log.info("push delayed", problem=problem, retry_in=RETRIES[retry])
            self._schedule(RETRIES[retry], lambda: self._again(subscription, payload, retry + 1))
            return "retrying"
        self.log.warning("push failed", problem=problem)
        return "failed"

    def _again(self, subscription: PushSubscription, payload: bytes, retry: int) -> None:
        self._start(self._deliver(subscription, payload, retry))

    def _start(self, delivery: Coroutine[Any, Any, str]) -> None:
        task: asyncio.Task[object] = self.runtime.loop.create_task(delivery)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
