"""The router: typed clients of the hub's actors, found by what they serve.

`router.organization(org_id)`, `router.accounts(routing_key)`, `router.appliance(id)`,
`router.mailer()`, `router.gate()`, `router.backups()` and `router.health()` answer
`ActorClient`s; callers never learn an actor's supervisor key or which process it runs in, so a
later router can send the same calls to another hub node. The keys (`org:<id>`,
`appliance:<id>`, `accounts:<n>`, …) are spelt here and nowhere else.

Organization actors start on first use; the router is told once (`serve_organizations`) what
they are built with. Singletons (mailer, gate, backups, health, housekeeping) and appliance
actors are started through the router by the composition root, so their keys stay here too.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

from actors.accounts import AccountsActor, shard_key
from actors.appliance import ApplianceActor
from actors.backups import BackupActor
from actors.clients import ActorClient
from actors.gate import GateActor
from actors.health import HealthActor
from actors.housekeeping import HousekeepingActor
from actors.mailer import MailerActor
from actors.notifier import NotifierActor
from actors.organization import OrganizationActor
from actors.relay import RelayActor
from actors.runtime import LoopRuntime
from actors.supervisor import Supervisor
from actors.webhooks import WebhookActor
from mykerio.accounts.context import Links
from mykerio.appliances.view import ApplianceView
from mykerio.backups.vault import BackupVault
from mykerio.bus import EventBus
from mykerio.clock import Clock
from mykerio.errors import NotFound, Unavailable
from mykerio.mail.message import Email
from mykerio.models import Appliance
from mykerio.protocol.envelope import Envelope
from mykerio.protocol.notifications import Cleared, Notice
from mykerio.relay.events import RelayedMailRefused
from mykerio.store.base import Store

_ORG_ID = re.compile(r"^[0-9a-f]{32}$")
MAILER = "mailer"
GATE = "gate"
HEALTH = "health"
HOUSEKEEPING = "housekeeping"
BACKUPS = "backups"
RELAY = "relay"
NOTIFIER = "notifier"
WEBHOOKS = "webhooks"


@dataclasses.dataclass(frozen=True, slots=True)
class OrganizationParts:
    """What every OrganizationActor is built with."""

    store: Store
    clock: Clock
    links: Links
    send_mail: Callable[[Email], Awaitable[object]]
    bus: EventBus
    backups: BackupVault | None = None


class Router:
    """Typed clients of this hub's actors (all in this process, under one supervisor)."""

    def __init__(self, supervisor: Supervisor, *, ask_timeout: float, accounts_shards: int):
        self._supervisor = supervisor
        self._timeout = ask_timeout
        self._shards = accounts_shards
        self._org_parts: OrganizationParts | None = None

    @property
    def ask_timeout(self) -> float:
        """How long a call waits for its answer (seconds)."""
        return self._timeout

    @property
    def runtime(self) -> LoopRuntime:
        """The runtime actors run on (for actors that live and die with one socket)."""
        return self._supervisor.runtime

    def serve_organizations(self, parts: OrganizationParts) -> None:
        """Say what organization actors are built with (once, before the first request)."""
        self._org_parts = parts

    def organization(self, org_id: str) -> ActorClient[OrganizationActor]:
        """The organization's actor, started on first use; `NotFound` for an id that cannot
        exist (without starting anything)."""
        if not _ORG_ID.match(org_id):
            raise NotFound(f"organization {org_id}")
        if self._org_parts is None:
            raise Unavailable("The hub is starting; try again in a moment.")
        parts = self._org_parts
        ref = self._supervisor.get_or_start(
            f"org:{org_id}",
            OrganizationActor,
            org_id=org_id,
            store=parts.store,
            clock=parts.clock,
            links=parts.links,
            send_mail=parts.send_mail,
            bus=parts.bus,
            find_appliance=self.appliance,
            backups=parts.backups,
        )
        return ActorClient(ref, self._timeout)

    def accounts(self, routing_key: str) -> ActorClient[AccountsActor]:
        """The accounts worker that serves `routing_key` (a token, an email or a user id)."""
        return self._required(
            shard_key(routing_key, self._shards), "Accounts are restarting; try again."
        )

    def appliance(self, appliance_id: str) -> ActorClient[ApplianceActor] | None:
        """The actor of a connected appliance; None while it is not connected."""
        return self._optional(_appliance_key(appliance_id))

    def mailer(self) -> ActorClient[MailerActor]:
        """The mailer (whichever incarnation is running)."""
        return self._required(MAILER, "The mailer is restarting; try again in a moment.")

    def gate(self) -> ActorClient[GateActor]:
        """The gate, which knows what a proven appliance key is."""
        return self._required(GATE, "The hub is restarting; try again in a moment.")

    def backups(self) -> ActorClient[BackupActor]:
        """The backups actor (uploads and the appliances' backup states)."""
        return self._required(BACKUPS, "Backups are restarting; try again in a moment.")

    def relay(self) -> ActorClient[RelayActor]:
        """The notification relay (appliances' own emails)."""
        return self._required(RELAY, "The notification relay is restarting; try again.")

    def relayed_mail_refused(self, event: RelayedMailRefused) -> None:
        """A relayed email refused at delivery (a bus event) goes to the relay (told; dropped
        while it restarts)."""
        relay = self._optional(RELAY)
        if relay is not None:
            relay.tell(RelayActor.mail_refused, event)

    def notifier(self) -> ActorClient[NotifierActor]:
        """The notifier (online/offline emails and notification settings)."""
        return self._required(NOTIFIER, "Notifications are restarting; try again in a moment.")

    def webhooks(self) -> ActorClient[WebhookActor]:
        """The webhooks actor (endpoints, deliveries)."""
        return self._required(WEBHOOKS, "Webhooks are restarting; try again in a moment.")

    def webhooks_changed(self, org_id: str) -> None:
        """An organization's webhooks changed: the notifier reads them again (told)."""
        notifier = self._optional(NOTIFIER)
        if notifier is not None:
            notifier.tell(NotifierActor.webhooks_changed, org_id)

    def health(self) -> ActorClient[HealthActor] | None:
        """The health actor; None while it restarts."""
        return self._optional(HEALTH)

    def appliance_reported(self, view: ApplianceView) -> None:
        """An appliance actor's new view goes to its organization's roster (told, not asked)."""
        self.organization(view.org_id).tell(OrganizationActor.appliance_changed, view)

    def appliance_left(self, org_id: str, appliance_id: str) -> None:
        """An appliance removed itself ("Remove from MyKerio"): its organization forgets it."""
        self.organization(org_id).tell(OrganizationActor.removed_by_appliance, appliance_id)

    def appliance_feature(self, org_id: str, appliance_id: str, envelope: Envelope) -> None:
        """A feature message of an appliance (`definitions_*`) goes to its organization."""
        self.organization(org_id).tell(
            OrganizationActor.definitions_message, appliance_id, envelope
        )

    def backup_state_reported(self, appliance: Appliance, state: str, message: str) -> None:
        """An appliance's own backup state goes to the backups actor (told; dropped while it
        restarts: the appliance reports again on its next change)."""
        backups = self._optional(BACKUPS)
        if backups is not None:
            backups.tell(BackupActor.state_reported, appliance, state, message)

    def backup_settings_reported(self, appliance: Appliance, enabled: bool, every: int) -> None:
        """An appliance's backup settings go to the backups actor (told, like its state)."""
        backups = self._optional(BACKUPS)
        if backups is not None:
            backups.tell(BackupActor.settings_reported, appliance, enabled, every)

    def notice_reported(self, appliance: Appliance, change: Notice | Cleared) -> None:
        """An appliance raised or cleared a notification: the notifier keeps and announces it
        (told; dropped while it restarts: the appliance raises them again on its next link)."""
        notifier = self._optional(NOTIFIER)
        if notifier is not None:
            notifier.tell(NotifierActor.notice_reported, appliance, change)

    def start_mailer(self, **kwargs: Any) -> None:
        """Start the mailer (restarted if it crashes)."""
        self._supervisor.start(MAILER, MailerActor, **kwargs)

    def start_gate(self, **kwargs: Any) -> None:
        """Start the gate (restarted if it crashes)."""
        self._supervisor.start(GATE, GateActor, **kwargs)

    def start_backups(self, **kwargs: Any) -> None:
        """Start the backups actor (restarted if it crashes)."""
        self._supervisor.start(BACKUPS, BackupActor, **kwargs)

    def start_relay(self, **kwargs: Any) -> None:
        """Start the notification relay (restarted if it crashes)."""
        self._supervisor.start(RELAY, RelayActor, **kwargs)

    def start_notifier(self, **kwargs: Any) -> None:
        """Start the notifier (restarted if it crashes)."""
        self._supervisor.start(NOTIFIER, NotifierActor, **kwargs)

    def start_webhooks(self, **kwargs: Any) -> None:
        """Start the webhooks actor (restarted if it crashes)."""
        self._supervisor.start(WEBHOOKS, WebhookActor, **kwargs)

    def start_health(self, **kwargs: Any) -> None:
        """Start the health actor (restarted if it crashes)."""
        self._supervisor.start(HEALTH, HealthActor, **kwargs)

    def start_housekeeping(self, **kwargs: Any) -> None:
        """Start housekeeping (restarted if it crashes)."""
        self._supervisor.start(HOUSEKEEPING, HousekeepingActor, **kwargs)

    def start_accounts(self, **kwargs: Any) -> None:
        """Start every accounts worker (each restarted if it crashes)."""
        for index in range(self._shards):
            self._supervisor.start(f"accounts:{index}", AccountsActor, **kwargs)

    def start_appliance(self, appliance_id: str, **kwargs: Any) -> ActorClient[ApplianceActor]:
        """Start the actor of a connected appliance (not restarted: the appliance reconnects)."""
        key = _appliance_key(appliance_id)
        ref = self._supervisor.start(key, ApplianceActor, restart=False, **kwargs)
        return ActorClient(ref, self._timeout)

    async def replace_appliance(self, appliance: Appliance, newer_ip: str) -> None:
        """A newer connection proved the key of an appliance that may still be linked: the old
        connection closes with 4002 and its actor stops, and the organization's activity log
        says so with both addresses. Nothing happens when it is not linked."""
        older = self.appliance(appliance.id)
        if older is None:
            return
        try:
            older_ip = await older.call(ApplianceActor.supersede)
        except Exception:  # noqa: BLE001 - gone or stuck: it is stopped below anyway
            older_ip = ""
        await self.stop_appliance(appliance.id)
        self.organization(appliance.org_id).tell(
            OrganizationActor.appliance_connection_replaced, appliance.id, older_ip, newer_ip
        )

    async def stop_appliance(self, appliance_id: str) -> None:
        """Stop the actor of an appliance (its connection was replaced)."""
        await self._supervisor.stop_child(_appliance_key(appliance_id), timeout=self._timeout)

    def _required(self, key: str, unavailable: str) -> ActorClient[Any]:
        client = self._optional(key)
        if client is None:
            raise Unavailable(unavailable)
        return client

    def _optional(self, key: str) -> ActorClient[Any] | None:
        ref = self._supervisor.get(key)
        return None if ref is None else ActorClient(ref, self._timeout)


def _appliance_key(appliance_id: str) -> str:
    return f"appliance:{appliance_id}"
