"""Builds the long-lived actors from the configuration: the mailer, the accounts workers, the
gate and appliance actors, and what organization actors are built with — all through the
router, which alone knows where each actor lives.

Part of the composition root: this is where concrete adapters (SMTP or the outbox directory,
the SMS gateway or its development file) are chosen and handed to the actors.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from actors.accounts import SendMail
from actors.appliance import ApplianceActor
from actors.backups import BackupActor, BackupLimits
from actors.clients import ActorClient
from actors.gate import admit
from actors.mailer import MailerActor, RetryPolicy
from actors.relay import RelayActor
from actors.router import OrganizationParts, Router
from actors.supervisor import Scheduler
from actors.webhooks import WebhookActor
from mykerio.accounts.context import Links
from mykerio.accounts.hashing import AsyncPasswords
from mykerio.accounts.policy import AccountPolicy
from mykerio.appliances.admission import HandshakeBudget, handshake_limit, usable_cores
from mykerio.backups.blobs import backup_box
from mykerio.backups.vault import BackupVault
from mykerio.bus import EventBus
from mykerio.clock import Clock
from mykerio.config import Config
from mykerio.datadir import DataDir
from mykerio.errors import Unavailable
from mykerio.mail.message import Email
from mykerio.mail.sealing import mail_box
from mykerio.mail.transport import DirectoryTransport, MailTransport, SmtpSettings, SmtpTransport
from mykerio.models import Appliance, Webhook
from mykerio.notifications.digest import DigestLine
from mykerio.notifications.timing import AlertTiming
from mykerio.protocol.backups import UPLOAD_KIND
from mykerio.protocol.identity import NonceLedger
from mykerio.protocol.stream_link import Stream, StreamLink
from mykerio.relay.events import RelayedMailRefused
from mykerio.relay.inbound import start_bounce_endpoint
from mykerio.relay.submission import RelaySettings
from mykerio.relay.verp import ReturnPaths
from mykerio.security.encryption import SecretBox, derive_key
from mykerio.security.passwords import PRODUCTION_PARAMETERS, PasswordHasher, common_passwords
from mykerio.sms import OutboxSmsSender, SmsSender
from mykerio.store import Store
from web.appliance_links import ApplianceLinks
from web.appliance_streams import ApplianceStreams
from web.sms_gateway import HttpSmsGateway
from web.waiting_appliances import WaitingAppliances
from web.webhook_client import TornadoWebhookTransport


def mail_transport(config: Config, data: DataDir) -> MailTransport:
    """SMTP when `[mail] smtp_host` is set, else the outbox directory."""
    mail = config.mail
    if mail.smtp_host:
        return SmtpTransport(
            SmtpSettings(
                host=mail.smtp_host,
                port=mail.smtp_port,
                security=mail.smtp_security,
                username=mail.smtp_username,
                password=mail.smtp_password,
                timeout=mail.smtp_timeout,
                verify_certificates=mail.smtp_verify_certificates,
            )
        )
    return DirectoryTransport(data.path / mail.outbox_dir)


def sms_sender(config: Config, data: DataDir, clock: Clock) -> SmsSender:
    """The HTTP gateway when `[sms] gateway_url` is set, else a file in the outbox directory."""
    if config.sms.gateway_url:
        return HttpSmsGateway(config.sms)
    return OutboxSmsSender(data.path / config.mail.outbox_dir / "sms.jsonl", clock.now)


def start_mailer(
    config: Config,
    data: DataDir,
    store: Store,
    clock: Clock,
    router: Router,
    bus: EventBus | None = None,
    schedule: Scheduler | None = None,
) -> None:
    """Start the mailer (restarted if it crashes); relayed mail's refusals go on `bus`; its
    retry timers run on `schedule` (None: the loop's)."""
    router.start_mailer(
        schedule=schedule,
        return_paths=relay_return_paths(config, data),
        relay_retry=RetryPolicy(
            initial=config.mail.retry_initial,
            maximum=config.mail.retry_max,
            max_attempts=config.relay.max_attempts,
        ),
        bus=bus,
        outbox=store.outbox,
        box=mail_box(data.secret_key),
        transport=mail_transport(config, data),
        sender=config.mail.sender,
        clock=clock,
        retry=RetryPolicy(
            initial=config.mail.retry_initial,
            maximum=config.mail.retry_max,
            max_attempts=config.mail.max_attempts,
        ),
    )


def mail_sender(router: Router) -> SendMail:
    """How actors hand an email to the mailer (whichever incarnation is running)."""

    async def send_mail(email: Email) -> str:
        return await router.mailer().call(MailerActor.send, email)

    return send_mail


def serve_organizations(
    config: Config,
    store: Store,
    clock: Clock,
    router: Router,
    bus: EventBus,
    backups: BackupVault | None = None,
) -> None:
    """Organization actors are started on first use, one per organization."""
    router.serve_organizations(
        OrganizationParts(
            store=store,
            clock=clock,
            links=Links(config.hub.public_url),
            send_mail=mail_sender(router),
            bus=bus,
            backups=backups,
        )
    )


def appliance_links(
    config: Config,
    data: DataDir,
    store: Store,
    clock: Clock,
    router: Router,
    waiting: WaitingAppliances,
    schedule: Scheduler | None = None,
) -> ApplianceLinks:
    """Start the gate and say how appliance sockets reach their actors and organizations
    (`schedule`: the appliance actors' timers, the event loop's unless a test gives one)."""
    router.start_gate(store=store, clock=clock, public_url=config.hub.public_url)
    streams = ApplianceStreams()

    async def connect(appliance: Appliance, link: Any) -> ActorClient[ApplianceActor]:
        await router.replace_appliance(appliance, link.ip)
        return router.start_appliance(
            appliance.id,
            appliance=appliance,
            link=link,
            store=store,
            clock=clock,
            report=router.appliance_reported,
            removed_by_appliance=router.appliance_left,
            feature_report=router.appliance_feature,
            schedule=schedule,
            coalesce=config.appliances.status_coalesce_seconds,
            features=streams.features(appliance.id),
            backup_state=router.backup_state_reported,
            backup_settings=router.backup_settings_reported,
            relay=router.relay,
            notice_report=router.notice_reported,
        )

    return ApplianceLinks(
        gate=router.gate,
        admit=functools.partial(admit, store),
        connect=connect,
        hub_key_pem=data.hub_key_pem,
        nonces=NonceLedger(),
        waiting=waiting,
        ask_timeout=config.actors.ask_timeout,
        runtime=router.runtime,
        factory_keys=config.hub.factory_public_keys,
        relay=router.relay,
        clock=clock,
        message_burst=config.appliances.message_burst,
        message_rate=config.appliances.message_rate,
        handshakes=HandshakeBudget(
            handshake_limit(config.appliances.handshakes_per_core, usable_cores())
        ),
        streams=streams,
    )


def backup_vault(config: Config, data: DataDir, store: Store, clock: Clock) -> BackupVault:
    """The backups at rest, sealed with their own key from the data directory's secret."""
    return BackupVault(store, backup_box(data.secret_key), clock, keep=config.backups.keep)


def start_backups(
    config: Config,
    vault: BackupVault,
    store: Store,
    clock: Clock,
    router: Router,
    bus: EventBus,
    streams: ApplianceStreams,
) -> None:
    """Start the backups actor (restarted if it crashes) and hand it the appliances' upload
    streams."""
    backups = config.backups
    router.start_backups(
        store=store,
        vault=vault,
        clock=clock,
        bus=bus,
        limits=BackupLimits(
            max_bytes=backups.max_bytes,
            uploads_per_hour=backups.uploads_per_hour,
            idle_timeout=backups.idle_timeout,
        ),
    )

    def upload_opened(
        appliance_id: str, link: StreamLink, stream: Stream, meta: Mapping[str, object]
    ) -> None:
        try:
            router.backups().tell(BackupActor.upload_opened, appliance_id, link, stream, meta)
        except Unavailable:
            link.refuse(stream, "busy")  # (restarting: the appliance tries again later)

    streams.serve(UPLOAD_KIND, upload_opened)


def start_accounts(
    config: Config,
    data: DataDir,
    store: Store,
    clock: Clock,
    router: Router,
    publish: Callable[[object], None],
) -> ThreadPoolExecutor:
    """Start housekeeping and the accounts workers (ended sessions go to `publish`); returns
    the password-hashing pool (the caller shuts it down)."""
    hashing = ThreadPoolExecutor(
        max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="argon2"
    )
    parameters = dataclasses.replace(
        PRODUCTION_PARAMETERS,
        time_cost=config.accounts.password_hash_iterations,
        memory_cost=config.accounts.password_hash_memory_kib,
    )
    passwords = AsyncPasswords(PasswordHasher(parameters), hashing)
    common_passwords()  # read the 10,000-password list now, not in the first request
    policy = account_policy(config)
    box = SecretBox.from_master(data.secret_key)
    backup_code_key = derive_key(data.secret_key, info="mykerio backup codes v1")
    sms = sms_sender(config, data, clock)
    links = Links(config.hub.public_url)
    send_mail = mail_sender(router)

    router.start_housekeeping(
        store=store,
        clock=clock,
        policy=policy,
        interval=config.accounts.housekeeping_interval,
    )
    router.start_accounts(
        store=store,
        passwords=passwords,
        clock=clock,
        policy=policy,
        box=box,
        backup_code_key=backup_code_key,
        sms=sms,
        links=links,
        send_mail=send_mail,
        publish=publish,
    )
    return hashing


def account_policy(config: Config) -> AccountPolicy:
    """The account limits the configuration sets (the others keep their defaults)."""
    return AccountPolicy(
        audit_retention=timedelta(days=config.accounts.audit_retention_days),
        session_lifetime=timedelta(hours=config.accounts.session_lifetime_hours),
        persistent_session=timedelta(days=config.accounts.persistent_session_days),
    )


def relay_return_paths(config: Config, data: DataDir) -> ReturnPaths:
    """The relay's signed return paths, at `[relay] bounce_domain` (or the relay address's)."""
    relay = config.relay
    domain = relay.bounce_domain or relay.from_address.rpartition("@")[2] or "localhost"
    return ReturnPaths(data.secret_key, domain)


def start_relay(
    config: Config, data: DataDir, store: Store, clock: Clock, router: Router, bus: EventBus
) -> None:
    """Start the notification relay (restarted if it crashes); it hears of relayed mail that
    the SMTP server refused."""
    router.start_relay(
        store=store,
        clock=clock,
        mailer=router.mailer,
        return_paths=relay_return_paths(config, data),
        settings=RelaySettings(
            from_address=config.relay.from_address,
            from_name=config.relay.from_name,
            source_quota=config.relay.source_quota,
        ),
    )
    bus.subscribe(RelayedMailRefused, router.relayed_mail_refused)


async def start_bounces(config: Config, data: DataDir, router: Router) -> asyncio.Server | None:
    """Listen for bounces of relayed mail (`[relay] inbound_smtp`), or None when it is off."""
    relay = config.relay
    if not relay.inbound_smtp:
        return None

    async def on_bounce(return_path: str, raw: bytes) -> bool:
        return await router.relay().call(RelayActor.dsn_received, return_path, raw)

    paths = relay_return_paths(config, data)
    return await start_bounce_endpoint(relay.inbound_host, relay.inbound_port, paths, on_bounce)


def start_notifier(
    config: Config,
    store: Store,
    clock: Clock,
    router: Router,
    bus: EventBus,
    schedule: Scheduler | None = None,
) -> None:
    """Start the notifier (restarted if it crashes); `schedule`: its timers, the event loop's
    unless a test gives one."""
    alerts = config.notifications

    async def deliver_webhook(webhook: Webhook, lines: tuple[DigestLine, ...]) -> None:
        await router.webhooks().call(WebhookActor.deliver, webhook, lines)

    router.start_notifier(
        store=store,
        clock=clock,
        bus=bus,
        send_mail=mail_sender(router),
        dashboard_url=config.hub.public_url.rstrip("/") + "/",
        timing=AlertTiming(
            grace=timedelta(seconds=alerts.grace_seconds),
            window=timedelta(seconds=alerts.batch_seconds),
            floor=timedelta(hours=alerts.flap_floor_hours),
        ),
        schedule=schedule,
        deliver_webhook=deliver_webhook,
    )


def start_webhooks(
    config: Config,
    data: DataDir,
    store: Store,
    clock: Clock,
    router: Router,
    schedule: Scheduler | None = None,
) -> TornadoWebhookTransport:
    """Start the webhooks actor (restarted if it crashes); returns its transport (the caller
    closes it)."""
    alerts = config.notifications
    transport = TornadoWebhookTransport(
        timeout=alerts.webhook_timeout, allow_private=alerts.webhook_allow_private
    )
    router.start_webhooks(
        store=store,
        clock=clock,
        box=SecretBox(derive_key(data.secret_key, info="mykerio webhook secrets v1")),
        transport=transport,
        dashboard_url=config.hub.public_url.rstrip("/") + "/",
        allow_private=alerts.webhook_allow_private,
        retry=RetryPolicy(
            initial=alerts.webhook_retry_initial,
            maximum=3600.0,
            max_attempts=alerts.webhook_max_attempts,
        ),
        schedule=schedule,
        on_change=router.webhooks_changed,
    )
    return transport
