"""RelayActor: the notification relay (guide 3.3 and 5.1; docs/protocol.md 9.9).

Appliances submit their own alert emails (`relay_email`); this actor applies the guide's rules
(`mykerio.relay.rules`) to each recipient and answers at once; every accepted recipient is one
email handed to the mailer, whose persisted outbox delivers it From the hub's relay address
with a signed return path. Bounces come back two ways, both blacklisting the recipient for 2
weeks from that bounce: a 5xx at delivery (the mailer's `RelayedMailRefused` event) and a
delivery status notification to the return path (the hub's inbound SMTP endpoint).

It is the only writer of the relay's records, so it keeps them in memory (senders as they are
used, the whole active blacklist) and writes each change through to the store; a restarted
hub reads them back. Relayed mail is counted here only, apart from the hub's own mail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

import structlog

from actors.clients import ActorClient
from actors.mailer import MailerActor
from actors.runtime import LoopActor, LoopRuntime
from mykerio.clock import Clock
from mykerio.errors import Unavailable
from mykerio.mail.message import Email
from mykerio.models import BlacklistEntry, RelaySender
from mykerio.protocol.envelope import Envelope
from mykerio.relay.addresses import normal_address
from mykerio.relay.dsn import failed_recipients
from mykerio.relay.events import RelayedMailRefused
from mykerio.relay.rules import (
    BOUNCED_LIMIT,
    Reason,
    bounce,
    bounced_now,
    current_window,
    decide,
    is_active,
    new_sender,
    remember_bounced,
    window_resets_at,
)
from mykerio.relay.submission import (
    BlacklistedRecipient,
    RelayAnswer,
    RelaySenderView,
    RelaySettings,
    RelaySubmission,
    unavailable_body,
)
from mykerio.relay.verp import ReturnPaths
from mykerio.store.base import Store

log = structlog.get_logger("actors.relay")
# Senders kept in memory at most (the least recently used go; the store has them all).
MAX_CACHED_SENDERS = 20_000


@dataclasses.dataclass(frozen=True, slots=True)
class RelayFrom:
    """Who relays: the appliance's key, its name and organization ("" before it is paired)."""

    key_id: str
    name: str
    org_id: str


class RelayLink(Protocol):
    """What answering a `relay_email` needs of the appliance's socket."""

    def send(self, envelope: Envelope) -> bool: ...

    @property
    def ip(self) -> str: ...


async def answer_relay_email(
    relay: Callable[[], ActorClient[RelayActor]],
    link: RelayLink,
    email: Envelope,
    sender: RelayFrom,
) -> None:
    """Hand an appliance's `relay_email` to the relay and answer `relay_result` at once (by the
    connection before pairing, by the appliance's actor once linked): any proven key may relay."""
    submission = RelaySubmission.from_body(
        email.body,
        key_id=sender.key_id,
        appliance_name=sender.name,
        org_id=sender.org_id,
        source_ip=link.ip,
    )
    try:
        answer = await relay().call(RelayActor.submit, submission)
    except (Unavailable, TimeoutError) as error:
        # (Restarting or overloaded: nothing was counted or queued; the appliance retries.)
        log.warning("relay unavailable", error=type(error).__name__)
        body = unavailable_body(submission.to)
        link.send(Envelope.new("relay_result", body, re=email.id))
        return
    link.send(Envelope.new("relay_result", answer.body(), re=email.id))


def key_sender(key_id: str) -> str:
    """The sender id of an appliance's key."""
    return f"key:{key_id}"


def source_sender(ip: str) -> str:
    """The sender id of the cap shared by the keys in no organization from one address."""
    return f"source:{ip}"


class RelayActor(LoopActor):
    """Decides, counts and blacklists for the notification relay."""

    kind = "relay"

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        store: Store,
        clock: Clock,
        mailer: Callable[[], ActorClient[MailerActor]],
        return_paths: ReturnPaths,
        settings: RelaySettings | None = None,
    ) -> None:
        super().__init__(runtime=runtime, name=name)
        self._store = store
        self._clock = clock
        self._mailer = mailer
        self._paths = return_paths
        self._settings = settings or RelaySettings()
        self._senders: dict[str, RelaySender] = {}
        self._blacklist: dict[str, BlacklistEntry] = {}

    async def on_start(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
        """Forget released entries and read the active blacklist."""
        now = self._clock.now()
        await self._store.relay.delete_released(now)
        self._blacklist = {e.address: e for e in await self._store.relay.blacklist()}

    # Submissions.
    async def submit(self, submission: RelaySubmission) -> RelayAnswer:
        """Accept or refuse each recipient of one email; hand the accepted ones to the mailer."""
        now = self._clock.now()
        sender = await self._sender(key_sender(submission.key_id))
        source = None
        if not submission.org_id:
            source = await self._sender(source_sender(submission.source_ip))
        decision = decide(
            submission.to,
            sender=sender,
            source=source,
            blacklisted=self._active_entry,
            now=now,
            source_quota=self._settings.source_quota,
        )
        from_header = self._settings.from_header(submission.appliance_name)
        mailer = self._mailer()
        for verdict in decision.verdicts:
            if verdict.accepted:
                email = Email(
                    verdict.address,
                    submission.subject,
                    submission.text,
                    submission.html,
                    origin=sender.id,
                    from_header=from_header,
                    reply_to=submission.reply_to,
                    attachments=submission.attachments,
                )
                await mailer.call(MailerActor.send, email)
            else:
                self.log.info(
                    "relay refused",
                    sender=sender.id,
                    reason=str(verdict.reason),
                    test=submission.test,
                )
        await self._save(decision.sender)
        if decision.source is not None:
            await self._save(decision.source)
        return RelayAnswer(
            decision.verdicts,
            decision.sender.window_count,
            self._settings.quota,
            window_resets_at(decision.sender),
        )

    # Bounces.
    async def mail_refused(self, event: RelayedMailRefused) -> None:
        """The SMTP server refused a relayed email for good (5xx): blacklist its recipient."""
        await self._bounced(event.recipient, event.origin, f"refused at delivery: {event.error}")

    async def dsn_received(self, return_path: str, raw: bytes) -> bool:
        """A delivery status notification to `return_path`; whether it blacklisted anyone.

        Dropped unless the return path is one this hub signed and names a relayed message, and
        the notification reports a permanent failure.
        """
        message_id = self._paths.message_of(return_path)
        if message_id is None:
            self.log.info("bounce dropped", why="unknown return path")
            return False
        message = await self._store.outbox.by_id(message_id)
        if message is None or not message.origin:
            self.log.info("bounce dropped", why="no such relayed message")
            return False
        failed = failed_recipients(raw)
        if not failed:
            self.log.info("bounce dropped", why="no permanent failure reported")
            return False
        first = failed[0]
        reason = f"bounce {first.status}: {first.diagnostic}".strip()
        await self._bounced(message.to, message.origin, reason)
        return True

    # What members and operators see.
    async def sender_view(self, key_id: str) -> RelaySenderView:
        """One appliance's window, refusals and blacklisted recipients."""
        now = self._clock.now()
        sender = current_window(await self._sender(key_sender(key_id)), now)
        blacklisted = tuple(
            BlacklistedRecipient(address, self._blacklist[address].release_at)
            for address in bounced_now(sender, self._active_entry, now)
        )
        refused = tuple(
            (reason.value, getattr(sender, f"refused_{reason.value}")) for reason in Reason
        )
        return RelaySenderView(
            used=sender.window_count,
            limit=self._settings.quota,
            window_started_at=sender.window_started_at,
            resets_at=window_resets_at(sender),
            sent_total=sender.sent_total,
            refused=refused,
            blacklisted=blacklisted,
            refused_altogether=len(blacklisted) >= BOUNCED_LIMIT,
        )

    async def sender_views(self, key_ids: tuple[str, ...]) -> tuple[RelaySenderView, ...]:
        """The views of several appliances' keys, in order."""
        return tuple([await self.sender_view(key_id) for key_id in key_ids])

    async def blacklist(self) -> tuple[BlacklistEntry, ...]:
        """Every active entry, soonest released first."""
        now = self._clock.now()
        active = [e for e in self._blacklist.values() if is_active(e, now)]
        return tuple(sorted(active, key=lambda e: (e.release_at, e.address)))

    async def remove_blacklisted(self, address: str) -> bool:
        """An operator releases `address` now; whether it was blacklisted."""
        key = normal_address(address)
        known = self._blacklist.pop(key, None) is not None
        removed = await self._store.relay.remove_blacklisted(key)
        if known or removed:
            self.log.info("blacklist entry removed")
        return known or removed

    # Inside.
    def _active_entry(self, address: str) -> BlacklistEntry | None:
        return self._blacklist.get(address)

    async def _bounced(self, address: str, origin: str, reason: str) -> None:
        now = self._clock.now()
        key = normal_address(address)
        entry = bounce(self._blacklist.get(key), key, reason, now)
        self._blacklist[key] = entry
        await self._store.relay.save_blacklisted(entry)
        self.log.info("recipient blacklisted", sender=origin, bounces=entry.bounces)
        if origin:
            sender = await self._sender(origin)
            await self._save(remember_bounced(sender, key))

    async def _sender(self, sender_id: str) -> RelaySender:
        cached = self._senders.pop(sender_id, None)
        if cached is None:
            stored = await self._store.relay.sender(sender_id)
            cached = stored or new_sender(sender_id, self._clock.now())
        self._senders[sender_id] = cached  # (most recently used last)
        return cached

    async def _save(self, sender: RelaySender) -> None:
        self._senders.pop(sender.id, None)
        self._senders[sender.id] = sender
        while len(self._senders) > MAX_CACHED_SENDERS:
            del self._senders[next(iter(self._senders))]
        await self._store.relay.save_sender(sender)
