"""WebhookActor: an organization's webhook endpoints and the posts to them.

Members add endpoints (a URL, a body format — JSON, Slack or Microsoft Teams —, the events and
the notification severity they want); the signing secret (`whsec_…`) is answered once, then
kept sealed. The notifier hands over one window's changes per endpoint (`deliver`); each post
is written to the store's delivery table before it is tried, so a restart loses nothing, and is
signed the Standard Webhooks way with the same `webhook-id` on every attempt. An answer other
than 2xx, a timeout or a refused connection is retried with capped exponential backoff; 410
Gone gives up at once. The table is also the endpoint's delivery log (status codes, errors).

URLs to the hub's own network are refused unless `[notifications] webhook_allow_private` is
set (`mykerio.webhooks.addresses`); the transport checks every resolved address as well.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from actors.mailer import RetryPolicy
from actors.runtime import LoopActor, LoopRuntime
from actors.supervisor import Cancellable, Scheduler
from mykerio.clock import Clock
from mykerio.errors import InvalidInput, NotFound
from mykerio.models import Webhook, WebhookDelivery, new_id
from mykerio.notifications.digest import DigestLine
from mykerio.notifications.preferences import checked_threshold
from mykerio.security.encryption import SecretBox, TamperedData
from mykerio.store.base import Store
from mykerio.webhooks import payloads, signing
from mykerio.webhooks.addresses import url_problem
from mykerio.webhooks.transport import WebhookTransport, WebhookUnreachable

MAX_WEBHOOKS = 10  # per organization
LOG_ENTRIES = 50  # deliveries listed per endpoint
PARALLEL = 8  # posts in flight at once (a slow endpoint does not hold up the others)
NAME_CHARS = 100


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookView:
    """An endpoint as members see it (never its secret)."""

    id: str
    name: str
    url: str
    format: str
    events: tuple[str, ...]
    severity_from: str
    created_by: str
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class NewWebhook:
    """A new endpoint and its signing secret, shown this once."""

    webhook: WebhookView
    secret: str


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookSpec:
    """What a member asks for when adding an endpoint."""

    name: str
    url: str
    format: str
    events: tuple[str, ...]
    severity_from: str


def view_of(webhook: Webhook) -> WebhookView:
    """The members' view of a stored endpoint."""
    return WebhookView(
        webhook.id,
        webhook.name,
        webhook.url,
        webhook.format,
        webhook.events,
        webhook.severity_from,
        webhook.created_by,
        webhook.at,
    )


class WebhookActor(LoopActor):
    """Keeps the endpoints, posts to them and retries."""

    kind = "webhooks"

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        store: Store,
        clock: Clock,
        box: SecretBox,
        transport: WebhookTransport,
        dashboard_url: str,
        allow_private: bool = False,
        retry: RetryPolicy | None = None,
        schedule: Scheduler | None = None,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(runtime=runtime, name=name)
        self._store = store
        self._clock = clock
        self._box = box
        self._transport = transport
        self._dashboard = dashboard_url
        self._allow_private = allow_private
        self._retry = retry or RetryPolicy(initial=10.0, maximum=3600.0, max_attempts=8)
        self._schedule: Scheduler = schedule or runtime.loop.call_later
        self._on_change = on_change
        self._pending: dict[str, WebhookDelivery] = {}
        self._in_flight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer: Cancellable | None = None
        self._slots = asyncio.Semaphore(PARALLEL)

    async def on_start(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
        """Resume every delivery still to be made."""
        for delivery in await self._store.webhook_deliveries.pending():
            self._pending[delivery.id] = delivery
        if self._pending:
            self.log.info("webhook deliveries resumed", pending=len(self._pending))
        self._kick()

    def on_stop(self) -> None:
        """Stop the timer and cut posts in flight (they stay pending and go after a restart)."""
        if self._timer is not None:
            self._timer.cancel()
        for task in self._tasks:
            task.cancel()

    # Endpoints (asked by the web layer)

    async def add(self, user_id: str, org_id: str, spec: WebhookSpec) -> NewWebhook:
        """A member adds an endpoint; its secret is answered this once."""
        email = await self._member_email(user_id, org_id)
        existing = await self._store.webhooks.of_org(org_id)
        if len(existing) >= MAX_WEBHOOKS:
            raise InvalidInput(f"An organization has at most {MAX_WEBHOOKS} webhooks.")
        problem = url_problem(spec.url, allow_private=self._allow_private)
        if problem is not None:
            raise InvalidInput(problem)
        if spec.format not in payloads.FORMATS:
            raise InvalidInput("The format is json, slack or teams.")
        if not spec.events or any(event not in payloads.EVENTS for event in spec.events):
            raise InvalidInput("Choose the events: status, notification or both.")
        name = spec.name.strip()
        if not 1 <= len(name) <= NAME_CHARS:
            raise InvalidInput(f"The name is 1 to {NAME_CHARS} characters.")
        secret = signing.new_secret()
        webhook_id = new_id()
        webhook = Webhook(
            id=webhook_id,
            at=self._clock.now(),
            org_id=org_id,
            name=name,
            url=spec.url,
            format=spec.format,
            events=tuple(dict.fromkeys(spec.events)),
            severity_from=checked_threshold(spec.severity_from),
            secret=self._box.seal(secret.encode(), purpose=_purpose(webhook_id)),
            created_by=email,
        )
        await self._store.webhooks.add(webhook)
        self._changed(org_id)
        self.log.info("webhook added", webhook_id=webhook_id, org_id=org_id)
        return NewWebhook(view_of(webhook), secret)

    async def endpoints(self, user_id: str, org_id: str) -> list[WebhookView]:
        """The organization's endpoints."""
        await self._member_email(user_id, org_id)
        return [view_of(webhook) for webhook in await self._store.webhooks.of_org(org_id)]

    async def remove(self, user_id: str, org_id: str, webhook_id: str) -> None:
        """Delete an endpoint, its pending posts and its log."""
        webhook = await self._webhook(user_id, org_id, webhook_id)
        await self._store.webhooks.delete(webhook.id)
        await self._store.webhook_deliveries.delete_for_webhook(webhook.id)
        for delivery_id in [d.id for d in self._pending.values() if d.webhook_id == webhook.id]:
            del self._pending[delivery_id]
        self._changed(org_id)

    async def log_of(self, user_id: str, org_id: str, webhook_id: str) -> list[WebhookDelivery]:
        """The endpoint's newest deliveries, newest first."""
        webhook = await self._webhook(user_id, org_id, webhook_id)
        return await self._store.webhook_deliveries.of_webhook(webhook.id, LOG_ENTRIES)

    async def send_test(self, user_id: str, org_id: str, webhook_id: str) -> WebhookDelivery:
        """ "Send test": a test message, delivered (and retried) like any other."""
        webhook = await self._webhook(user_id, org_id, webhook_id)
        return await self._queue(webhook, "test", ())

    # Changes (asked by the notifier)

    async def deliver(self, webhook: Webhook, lines: tuple[DigestLine, ...]) -> None:
        """Persist one window's changes for the endpoint and start posting them."""
        events = {payloads.event_of(line) for line in lines}
        await self._queue(webhook, "status" if events == {"status"} else "changes", lines)

    # Delivering

    async def _queue(
        self, webhook: Webhook, event: str, lines: Sequence[DigestLine]
    ) -> WebhookDelivery:
        now = self._clock.now()
        body = payloads.body(webhook.format, lines, now, self._dashboard)
        delivery = WebhookDelivery(
            id="msg_" + new_id(),
            at=now,
            org_id=webhook.org_id,
            webhook_id=webhook.id,
            event=event,
            body=body.decode(),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            response_status=0,
            last_error="",
            done_at=None,
        )
        await self._store.webhook_deliveries.put(delivery)
        self._pending[delivery.id] = delivery
        self._kick()
        return delivery

    def _kick(self, due_by: datetime | None = None) -> None:
        """Start every delivery due (by `due_by`: the time a timer was set for, which the
        scheduler, not the clock, says has come), and set a timer for the next one."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self._clock.now() if due_by is None else max(due_by, self._clock.now())
        waiting = []
        for delivery in list(self._pending.values()):
            if delivery.id in self._in_flight:
                continue
            if delivery.next_attempt_at <= now:
                self._in_flight.add(delivery.id)
                task = self.runtime.loop.create_task(self._attempt(delivery))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                waiting.append(delivery.next_attempt_at)
        if waiting:
            first = min(waiting)
            delay = max(0.0, (first - now).total_seconds())
            self._timer = self._schedule(delay, lambda: self._on_timer(first))

    def _on_timer(self, due_by: datetime) -> None:
        self._timer = None
        self._kick(due_by)

    async def _attempt(self, delivery: WebhookDelivery) -> None:
        try:
            async with self._slots:
                done = await self._post(delivery)
            if delivery.id in self._pending:  # (not removed with its endpoint meanwhile)
                await self._store.webhook_deliveries.put(done)
                if done.status == "pending":
                    self._pending[done.id] = done
                else:
                    del self._pending[done.id]
        finally:
            self._in_flight.discard(delivery.id)
            self._kick()

    async def _post(self, delivery: WebhookDelivery) -> WebhookDelivery:
        attempts = delivery.attempts + 1
        webhooks = await self._store.webhooks.of_org(delivery.org_id)
        webhook = next((w for w in webhooks if w.id == delivery.webhook_id), None)
        if webhook is None:
            return self._ended(delivery, attempts, "failed", 0, "the webhook was removed")
        try:
            secret = self._box.open(webhook.secret, purpose=_purpose(webhook.id)).decode()
        except TamperedData as tampered:
            return self._ended(delivery, attempts, "failed", 0, tampered.message)
        body = delivery.body.encode()
        timestamp = int(self._clock.now().timestamp())
        headers = signing.headers(secret, delivery.id, timestamp, body)
        try:
            status = await self._transport.post(webhook.url, headers, body)
            error = "" if 200 <= status < 300 else f"answered {status}"
        except WebhookUnreachable as unreachable:
            status, error = 0, str(unreachable)[:300]
        if not error:
            self.log.info("webhook delivered", delivery_id=delivery.id, status=status)
            return self._ended(delivery, attempts, "sent", status, "")
        if status == 410 or attempts >= self._retry.max_attempts:
            self.log.warning("webhook failed", delivery_id=delivery.id, error=error)
            return self._ended(delivery, attempts, "failed", status, error)
        delay = self._retry.delay(attempts)
        self.log.info("webhook delayed", delivery_id=delivery.id, retry_in=delay, error=error)
        return dataclasses.replace(
            delivery,
            attempts=attempts,
            next_attempt_at=self._clock.now() + timedelta(seconds=delay),
            response_status=status,
            last_error=error,
        )

    def _ended(
        self, delivery: WebhookDelivery, attempts: int, status: str, code: int, error: str
    ) -> WebhookDelivery:
        return dataclasses.replace(
            delivery,
            status=status,
            attempts=attempts,
            response_status=code,
            last_error=error,
            done_at=self._clock.now(),
        )

    async def _member_email(self, user_id: str, org_id: str) -> str:
        if not await self._store.organizations.is_member(org_id, user_id):
            raise NotFound(f"organization {org_id}")
        user = await self._store.users.by_id(user_id)
        return user.email if user is not None else ""

    async def _webhook(self, user_id: str, org_id: str, webhook_id: str) -> Webhook:
        await self._member_email(user_id, org_id)
        for webhook in await self._store.webhooks.of_org(org_id):
            if webhook.id == webhook_id:
                return webhook
        raise NotFound(f"webhook {webhook_id}")

    def _changed(self, org_id: str) -> None:
        if self._on_change is not None:
            self._on_change(org_id)


def _purpose(webhook_id: str) -> str:
    return f"webhook secret {webhook_id}"
