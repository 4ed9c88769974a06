"""MailerActor: the only code that sends email.

Every message is written to the store's outbox before any attempt to send it, so a crash or a
restart loses nothing: on start the mailer delivers whatever is still pending. Delivery runs in
one background task owned by the actor, so `send` answers as soon as the message is stored.
Temporary failures (4xx replies, refused connections, timeouts) are retried with capped
exponential backoff up to `max_attempts`; permanent ones (5xx) mark the message failed.

Relayed mail (an appliance's own, `mykerio.relay`) shares the outbox but has its own retry
policy (an SMTP server down for hours still delivers it), leaves with a signed return path
that bounces come back to, and a 5xx for it is published (`RelayedMailRefused`) so that the
relay blacklists the recipient.

The outbox never holds a readable body: the mailer seals both bodies (`mykerio.mail.sealing`)
before storing them and opens them only to build the MIME message; the store deletes the sealed
body when the message is sent or given up. A pending message written in the clear by an older
hub is sealed when the mailer starts, before anything is delivered.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import timedelta

from actors.runtime import LoopActor, LoopRuntime
from actors.supervisor import Cancellable, Scheduler
from mykerio.bus import EventBus
from mykerio.clock import Clock
from mykerio.mail.message import Attachment, Email, to_mime
from mykerio.mail.sealing import is_sealed, open_bodies, open_message, seal_bodies
from mykerio.mail.transport import (
    DirectoryTransport,
    MailTransport,
    PermanentMailError,
    TemporaryMailError,
)
from mykerio.models import OutboxMessage, new_id
from mykerio.relay.events import RelayedMailRefused
from mykerio.relay.verp import ReturnPaths
from mykerio.security.encryption import SecretBox, TamperedData
from mykerio.store.base import OutboxRepository


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a temporarily failing message is retried."""

    initial: float = 5.0
    maximum: float = 600.0
    max_attempts: int = 10

    def delay(self, attempts: int) -> float:
        """Seconds before attempt number `attempts + 1`."""
        return float(min(self.maximum, self.initial * 2 ** max(0, attempts - 1)))


class MailerActor(LoopActor):
    """Persists, sends and retries the hub's email."""

    kind = "mailer"

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        outbox: OutboxRepository,
        box: SecretBox,
        transport: MailTransport,
        sender: str,
        clock: Clock,
        retry: RetryPolicy | None = None,
        schedule: Scheduler | None = None,
        batch: int = 20,
        on_delivered: Callable[[OutboxMessage], None] | None = None,
        return_paths: ReturnPaths | None = None,
        relay_retry: RetryPolicy | None = None,
        bus: EventBus | None = None,
    ) -> None:
        super().__init__(runtime=runtime, name=name)
        self._outbox = outbox
        self._box = box
        self._transport = transport
        self._sender = sender
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self._schedule: Scheduler = schedule or runtime.loop.call_later
        self._batch = batch
        self._on_delivered = on_delivered
        self._return_paths = return_paths
        self._relay_retry = relay_retry or self._retry
        self._bus = bus
        self._delivery: asyncio.Task[None] | None = None
        self._again = False
        self._timer: Cancellable | None = None

    def on_start(self) -> None:
        """Seal what an older hub left in the clear, then resume whatever is unsent."""
        self._delivery = self.runtime.loop.create_task(self._seal_then_deliver())

    async def _seal_then_deliver(self) -> None:
        pending = await self._outbox.pending()
        for message in pending:
            if not is_sealed(message.text):
                sealed = seal_bodies(self._box, message.id, text=message.text, html=message.html)
                await self._outbox.replace_body(message.id, sealed)
                self.log.info("mail body sealed", message_id=message.id)
        await self._deliver_due()

    async def on_stop(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
        """Stop retry timers; let an in-flight attempt finish briefly, else leave it pending."""
        if self._timer is not None:
            self._timer.cancel()
        task = self._delivery
        if task is not None and not task.done():
            try:
                async with asyncio.timeout(2):
                    await asyncio.shield(task)
            except TimeoutError:
                task.cancel()  # still "pending" in the outbox: the next start sends it

    async def send(self, email: Email) -> str:
        """Store `email` in the outbox and start delivering it; returns its outbox id."""
        now = self._clock.now()
        message_id = new_id()
        message = OutboxMessage(
            id=message_id,
            to=email.to,
            subject=email.subject,
            text=seal_bodies(
                self._box,
                message_id,
                text=email.text,
                html=email.html,
                attachments=email.attachments,
            ),
            html="",
            created_at=now,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            last_error="",
            sent_at=None,
            origin=email.origin,
            from_header=email.from_header,
            reply_to=email.reply_to,
        )
        await self._outbox.add(message)
        self.log.info("mail queued", message_id=message.id, subject=email.subject)
        self._kick()
        return message.id

    async def recent(self, limit: int) -> list[OutboxMessage]:
        """The newest messages, sent or not, readable (for the development outbox page).

        A pending message's body is opened; a delivered one's store row has none, so the body
        comes from the `.eml` file a hub without SMTP wrote (empty with any other transport).
        """
        return [await self._readable(message) for message in await self._outbox.recent(limit)]

    async def _readable(self, message: OutboxMessage) -> OutboxMessage:
        if is_sealed(message.text):
            try:
                text, html = open_bodies(self._box, message.id, message.text)
            except TamperedData:
                text, html = "", ""
        elif isinstance(self._transport, DirectoryTransport):
            text, html = await self._transport.delivered_bodies(message.id)
        else:
            text, html = message.text, message.html
        return dataclasses.replace(message, text=text, html=html)

    def _kick(self) -> None:
        if self._delivery is not None and not self._delivery.done():
            self._again = True  # the running pass looks again before it ends
            return
        self._delivery = self.runtime.loop.create_task(self._deliver_due())

    async def _deliver_due(self) -> None:
        while True:
            self._again = False
            due = await self._outbox.due(self._clock.now(), self._batch)
            for message in due:
                await self._attempt(message)
            if len(due) >= self._batch or self._again:
                continue
            # Wake up for the earliest message waiting for a retry (also after a restart).
            next_at = await self._outbox.next_attempt_at()
            if self._again:
                continue  # a message arrived while we looked; deliver it first
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if next_at is not None:
                delay = max(0.0, (next_at - self._clock.now()).total_seconds())
                self._timer = self._schedule(delay, self._on_timer)
            return

    def _on_timer(self) -> None:
        self._timer = None
        self._kick()

    async def _attempt(self, message: OutboxMessage) -> None:
        text, html = message.text, message.html
        attachments: tuple[Attachment, ...] = ()
        if is_sealed(message.text):
            try:
                text, html, attachments = open_message(self._box, message.id, message.text)
            except TamperedData as exc:
                # Sealed with another data directory's key (or changed): it can never be sent.
                await self._outbox.mark_failed(
                    message.id, attempts=message.attempts, error=exc.message
                )
                self.log.error("mail unreadable", message_id=message.id, error=exc.message)
                return
        relayed = bool(message.origin)
        email = Email(
            message.to,
            message.subject,
            text,
            html,
            origin=message.origin,
            from_header=message.from_header,
            reply_to=message.reply_to,
            attachments=attachments,
        )
        mime = to_mime(
            email, sender=self._sender, message_id=f"<{message.id}@mykerio>", at=message.created_at
        )
        envelope_from = ""
        if relayed and self._return_paths is not None:
            envelope_from = self._return_paths.for_message(message.id)
        retry = self._relay_retry if relayed else self._retry
        attempts = message.attempts + 1
        try:
            await self._transport.deliver(mime, message_id=message.id, envelope_from=envelope_from)
        except TemporaryMailError as exc:
            if attempts >= retry.max_attempts:
                await self._outbox.mark_failed(message.id, attempts=attempts, error=str(exc))
                self.log.error(
                    "mail failed", message_id=message.id, attempts=attempts, error=str(exc)
                )
                return
            delay = retry.delay(attempts)
            next_at = self._clock.now() + timedelta(seconds=delay)
            await self._outbox.mark_retry(
                message.id, attempts=attempts, next_attempt_at=next_at, error=str(exc)
            )
            self.log.warning(
                "mail delayed",
                message_id=message.id,
                attempts=attempts,
                retry_in=delay,
                error=str(exc),
            )
            return
        except PermanentMailError as exc:
            await self._outbox.mark_failed(message.id, attempts=attempts, error=str(exc))
            self.log.error("mail refused", message_id=message.id, error=str(exc))
            if relayed and self._bus is not None:
                self._bus.publish(
                    RelayedMailRefused(message.id, message.to, message.origin, str(exc))
                )
            return
        sent_at = self._clock.now()
        await self._outbox.mark_sent(message.id, sent_at)
        self.log.info("mail sent", message_id=message.id, attempts=attempts)
        if self._on_delivered is not None:
            self._on_delivered(dataclasses.replace(message, status="sent", sent_at=sent_at))
