"""Builds the long-lived actors from the configuration: the mailer and the accounts workers.

Part of the composition root: this is where concrete adapters (SMTP or the outbox directory,
the SMS gateway or its development file) are chosen and handed to the actors.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from pykka import ActorRef
from pykka.messages import ProxyCall

from actors.accounts import AccountsActor, SendMail
from actors.appliance import ApplianceActor
from actors.gate import GateActor
from actors.housekeeping import HousekeepingActor
from actors.mailer import MailerActor, RetryPolicy
from actors.organization import OrganizationActor, Publish
from actors.runtime import answer
from actors.supervisor import Scheduler, Supervisor
from mykerio.accounts.context import Links
from mykerio.accounts.hashing import AsyncPasswords
from mykerio.accounts.policy import AccountPolicy
from mykerio.clock import Clock
from mykerio.config import Config
from mykerio.datadir import DataDir
from mykerio.errors import Unavailable
from mykerio.mail.message import Email
from mykerio.mail.sealing import mail_box
from mykerio.mail.transport import DirectoryTransport, MailTransport, SmtpSettings, SmtpTransport
from mykerio.models import Appliance
from mykerio.protocol.identity import NonceLedger
from mykerio.security.encryption import SecretBox, derive_key
from mykerio.security.passwords import PRODUCTION_PARAMETERS, PasswordHasher, common_passwords
from mykerio.sms import OutboxSmsSender, SmsSender
from mykerio.store import Store
from web.appliance_links import ApplianceLinks
from web.orgs import OrganizationsDirectory
from web.sms_gateway import HttpSmsGateway
from web.waiting_appliances import WaitingAppliances

MAILER_KEY = "mailer"
GATE_KEY = "gate"


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
    config: Config, data: DataDir, store: Store, clock: Clock, supervisor: Supervisor
) -> None:
    """Start the mailer under the supervisor (restarted if it crashes)."""
    supervisor.start(
        MAILER_KEY,
        MailerActor,
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


def mail_sender(config: Config, supervisor: Supervisor) -> SendMail:
    """How actors hand an email to the mailer (whichever incarnation is running)."""
    timeout = config.actors.ask_timeout

    async def send_mail(email: Email) -> str:
        ref = supervisor.get(MAILER_KEY)
        if ref is None:
            raise Unavailable("The mailer is restarting; try again in a moment.")
        future = ref.ask(ProxyCall(attr_path=("send",), args=(email,), kwargs={}), block=False)
        result: str = await answer(future, timeout=timeout)
        return result

    return send_mail


def organizations_directory(
    config: Config,
    store: Store,
    clock: Clock,
    supervisor: Supervisor,
    publish: Publish,
) -> OrganizationsDirectory:
    """Organization actors are started by the supervisor on first use, one per organization."""
    links = Links(config.hub.public_url)
    send_mail = mail_sender(config, supervisor)

    def start(org_id: str) -> ActorRef[Any]:
        return supervisor.get_or_start(
            f"org:{org_id}",
            OrganizationActor,
            org_id=org_id,
            store=store,
            clock=clock,
            links=links,
            send_mail=send_mail,
            publish=publish,
            find_appliance=lambda appliance_id: supervisor.get(f"appliance:{appliance_id}"),
        )

    return OrganizationsDirectory(start)


def appliance_links(
    config: Config,
    data: DataDir,
    store: Store,
    clock: Clock,
    supervisor: Supervisor,
    organizations: OrganizationsDirectory,
    waiting: WaitingAppliances,
    schedule: Scheduler | None = None,
) -> ApplianceLinks:
    """Start the gate and say how appliance sockets reach their actors and organizations
    (`schedule`: the appliance actors' timers, the event loop's unless a test gives one)."""
    supervisor.start(
        GATE_KEY, GateActor, store=store, clock=clock, public_url=config.hub.public_url
    )

    def gate() -> ActorRef[Any]:
        ref = supervisor.get(GATE_KEY)
        if ref is None:
            raise Unavailable("The hub is restarting; try again in a moment.")
        return ref

    def tell_org(org_id: str, method: str, *args: Any) -> None:
        organizations.start(org_id).tell(ProxyCall(attr_path=(method,), args=args, kwargs={}))

    ask_timeout = config.actors.ask_timeout

    async def connect(appliance: Appliance, link: Any) -> ActorRef[Any]:
        key = f"appliance:{appliance.id}"
        older = supervisor.get(key)
        if older is not None:
            # A newer connection proved the same key: the old one closes with 4002, and the
            # organization's activity log says so with both addresses.
            call = ProxyCall(attr_path=("supersede",), args=(), kwargs={})
            try:
                older_ip = await answer(older.ask(call, block=False), timeout=ask_timeout)
            except Exception:  # noqa: BLE001 - gone or stuck: it is stopped below anyway
                older_ip = ""
            await supervisor.stop_child(key, timeout=ask_timeout)
            tell_org(
                appliance.org_id, "appliance_connection_replaced", appliance.id, older_ip, link.ip
            )
        return supervisor.start(
            key,
            ApplianceActor,
            restart=False,
            appliance=appliance,
            link=link,
            store=store,
            clock=clock,
            report=lambda view: tell_org(view.org_id, "appliance_changed", view),
            removed_by_appliance=lambda org_id, appliance_id: tell_org(
                org_id, "removed_by_appliance", appliance_id
            ),
            schedule=schedule,
            coalesce=config.appliances.status_coalesce_seconds,
        )

    return ApplianceLinks(
        gate=gate,
        connect=connect,
        hub_key_pem=data.hub_key_pem,
        nonces=NonceLedger(),
        waiting=waiting,
        ask_timeout=config.actors.ask_timeout,
        runtime=supervisor.runtime,
        factory_keys=config.hub.factory_public_keys,
        clock=clock,
        message_burst=config.appliances.message_burst,
        message_rate=config.appliances.message_rate,
    )


def start_accounts(
    config: Config,
    data: DataDir,
    store: Store,
    clock: Clock,
    supervisor: Supervisor,
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
    send_mail = mail_sender(config, supervisor)

    supervisor.start(
        "housekeeping",
        HousekeepingActor,
        store=store,
        clock=clock,
        policy=policy,
        interval=config.accounts.housekeeping_interval,
    )
    for index in range(config.actors.accounts_workers):
        supervisor.start(
            f"accounts:{index}",
            AccountsActor,
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
