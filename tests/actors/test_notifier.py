"""Tests of actors/notifier.py: online/offline emails with grace, batching and the flap floor,
through the real mailer to a real SMTP server on loopback (aiosmtpd), on the fake clock."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from actors.clients import ActorClient
from actors.mailer import MailerActor, RetryPolicy
from actors.notifier import NotifierActor, NotifierBacklog
from actors.runtime import LoopRuntime, stop
from mykerio.appliances.view import ApplianceView
from mykerio.bus import LocalBus
from mykerio.clock import FakeClock
from mykerio.errors import InvalidInput, NotFound
from mykerio.mail.message import Email
from mykerio.mail.sealing import mail_box
from mykerio.mail.transport import SmtpSettings, SmtpTransport
from mykerio.models import Appliance, User
from mykerio.notifications.preferences import Choice
from mykerio.notifications.timing import AlertTiming
from mykerio.organizations.events import ApplianceChanged, ApplianceRemoved
from mykerio.protocol.notifications import Cleared, Notice
from mykerio.store import Store
from tests.smtp_server import LoopbackSmtp
from tests.store.factories import T0, make_appliance, make_organization, make_user

MINUTE = 60.0


@dataclasses.dataclass
class Org:
    id: str
    members: tuple[User, ...]

    @property
    def user_ids(self) -> tuple[str, ...]:
        return tuple(user.id for user in self.members)


class Hub:
    """The notifier and the mailer of one hub, on one store, bus and fake clock."""

    def __init__(self, store: Store, smtp: LoopbackSmtp) -> None:
        self.store = store
        self.smtp = smtp
        self.clock = FakeClock(T0)
        self.bus = LocalBus()
        self.runtime = LoopRuntime(asyncio.get_running_loop())
        self.mailer: Any = None
        self.notifier: ActorClient[NotifierActor] | None = None
        self.notifier_ref: Any = None

    async def start(self) -> None:
        transport = SmtpTransport(
            SmtpSettings("127.0.0.1", self.smtp.port, "none", "", "", timeout=5)
        )
        self.mailer = MailerActor.start(
            runtime=self.runtime,
            outbox=self.store.outbox,
            box=mail_box(b"k" * 32),
            transport=transport,
            sender="MyKerio <no-reply@hub.example>",
            clock=self.clock,
            retry=RetryPolicy(initial=5, maximum=60, max_attempts=5),
            schedule=self.clock.call_later,
        )
        mailer = ActorClient[MailerActor](self.mailer, 10)

        async def send_mail(email: Email) -> str:
            return await mailer.call(MailerActor.send, email)

        ref = NotifierActor.start(
            runtime=self.runtime,
            store=self.store,
            clock=self.clock,
            bus=self.bus,
            send_mail=send_mail,
            dashboard_url="https://hub.example/",
            timing=AlertTiming(grace=timedelta(minutes=2), window=timedelta(minutes=2)),
            schedule=self.clock.call_later,
        )
        self.notifier_ref = ref
        self.notifier = ActorClient(ref, 10)
        await self.settled()  # subscribed to the bus, pending work resumed

    async def stop(self) -> None:
        await stop(self.notifier_ref, timeout=5)
        await stop(self.mailer, timeout=5)

    async def settled(self) -> None:
        """Every event and timer told so far has been handled."""
        assert self.notifier is not None
        await self.notifier.call(NotifierActor.backlog)

    async def move(self, seconds: float) -> None:
        """Move the fake clock on, in steps of a second so timers armed meanwhile fire too."""
        for _ in range(int(seconds)):
            self.clock.advance(1)
            await self.settled()

    async def jump(self, seconds: float) -> None:
        """Move the fake clock on at once (for long waits with nothing due meanwhile)."""
        self.clock.advance(seconds)
        await self.settled()

    async def attempts(self, message_id: str, count: int) -> None:
        """Wait until the mailer has tried the message `count` times."""
        async with asyncio.timeout(10):
            while True:
                message = await self.store.outbox.by_id(message_id)
                if message is not None and message.attempts >= count:
                    return
                await asyncio.sleep(0.01)

    async def org(self, *emails: str, opted_out: tuple[str, ...] = ()) -> Org:
        organization = await self.store.organizations.add(make_organization())
        members = []
        for email in emails:
            user = dataclasses.replace(make_user(email), full_name=email.split("@")[0].title())
            user = await self.store.users.add(user)
            if email in opted_out:
                await self.store.users.set_notifications(user.id, False)
            await self.store.organizations.add_member(organization.id, user.id, T0)
            members.append(user)
        return Org(organization.id, tuple(members))

    def report(self, org: Org, appliance: str, connected: bool) -> None:
        """The organization publishes the appliance's new state."""
        view = ApplianceView(
            id=f"ap-{appliance}",
            org_id=org.id,
            name=appliance,
            product="control",
            version="9.4.5",
            status="green" if connected else "red",
            reasons=() if connected else ("Offline",),
            pending=0,
            connected=connected,
            ip="192.0.2.1",
            last_seen="",
        )
        self.bus.publish(ApplianceChanged(org.id, org.user_ids, view))

    async def sent(self) -> list[tuple[str, str]]:
        """(recipient, subject) of every email handed to the mailer, oldest first."""
        messages = await self.store.outbox.recent(10_000)
        return sorted((m.to, m.subject) for m in messages)


@pytest.fixture
async def hub(store: Store, smtp_server: LoopbackSmtp) -> AsyncIterator[Hub]:
    running = Hub(store, smtp_server)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def online(hub: Hub, org: Org, *names: str) -> None:
    for name in names:
        hub.report(org, name, connected=True)
    await hub.settled()


async def offline(hub: Hub, org: Org, *names: str) -> None:
    for name in names:
        hub.report(org, name, connected=False)
    await hub.settled()


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def test_offline_after_the_grace_mails_each_member_who_did_not_opt_out(hub: Hub) -> None:
    """Offline past the grace: one email per opted-in member after the window; back online
    later: "back online" to the same people; the opted-out member gets neither."""
    org = await hub.org("ana@acme.example", "bob@acme.example", opted_out=("bob@acme.example",))
    await online(hub, org, "Brno gateway")
    await offline(hub, org, "Brno gateway")
    await hub.move(2 * MINUTE + 1)  # the grace is over: queued, the window opens
    assert await hub.sent() == []
    await hub.move(2 * MINUTE)
    message = await hub.smtp.find("ana@acme.example", "offline")
    assert message["Subject"] == "Brno gateway is offline"
    assert "Brno gateway: offline since 2026-01-01 00:00 UTC" in body(message)
    assert "https://hub.example/" in body(message)
    assert "Receive email notifications from MyKerio" in body(message)
    await online(hub, org, "Brno gateway")
    await hub.move(2 * MINUTE)
    back = await hub.smtp.find("ana@acme.example", "back online")
    assert back["Subject"] == "Brno gateway is back online"
    assert [to for to, _ in await hub.sent()] == ["ana@acme.example"] * 2


async def test_back_within_the_grace_nobody_hears_of_it(hub: Hub) -> None:
    """An appliance offline for less than the grace makes no email at all."""
    org = await hub.org("ana@acme.example")
    await online(hub, org, "Brno gateway")
    await offline(hub, org, "Brno gateway")
    await hub.move(MINUTE + 50)
    await online(hub, org, "Brno gateway")
    await hub.move(10 * MINUTE)
    assert await hub.sent() == []
    assert await hub.store.alerts.of_kind("grace") == []


async def test_a_site_outage_is_one_email_per_member(hub: Hub) -> None:
    """300 appliances going offline together make one email per member listing all 300."""
    org = await hub.org("ana@acme.example", "eva@acme.example")
    names = [f"gw-{i:03d}" for i in range(300)]
    await online(hub, org, *names)
    await offline(hub, org, *names)
    await hub.move(4 * MINUTE + 1)
    await hub.smtp.wait_for(2)
    assert await hub.sent() == [
        ("ana@acme.example", "MyKerio appliances: 300 went offline"),
        ("eva@acme.example", "MyKerio appliances: 300 went offline"),
    ]
    text = body(await hub.smtp.find("eva@acme.example", "300"))
    assert all(f"- {name}: offline since" in text for name in names)


async def test_a_flapping_appliance_is_mailed_offline_at_most_once_in_six_hours(
    hub: Hub,
) -> None:
    """After one offline email, later offline episodes within 6 h send nothing (nor their
    "back online"); the first one after 6 h counts the episodes held back."""
    org = await hub.org("ana@acme.example")
    await online(hub, org, "Brno gateway")
    for _ in range(4):  # offline for 5 minutes, online for 5 minutes, four times
        await offline(hub, org, "Brno gateway")
        await hub.move(5 * MINUTE)
        await online(hub, org, "Brno gateway")
        await hub.move(5 * MINUTE)
    assert await hub.sent() == [
        ("ana@acme.example", "Brno gateway is back online"),
        ("ana@acme.example", "Brno gateway is offline"),
    ]
    await hub.jump(6 * 60 * MINUTE)
    await offline(hub, org, "Brno gateway")
    await hub.move(5 * MINUTE)
    sent = [subject for _, subject in await hub.sent()]
    assert sent.count("Brno gateway is offline") == 2
    await hub.smtp.wait_for(3)
    assert "(it also went offline 3 times since the last email about it)" in body(
        hub.smtp.messages[-1]
    )


async def test_a_restart_mid_batch_still_sends_the_batch_once(hub: Hub) -> None:
    """Lines queued and a grace running survive a hub restart: the email goes out once."""
    org = await hub.org("ana@acme.example")
    await online(hub, org, "Brno gateway", "Plzen office")
    await offline(hub, org, "Brno gateway")
    await hub.move(2 * MINUTE + 30)  # Brno's line is queued
    await offline(hub, org, "Plzen office")  # Plzen's grace runs
    await hub.stop()
    await hub.start()
    assert hub.notifier is not None
    backlog = await hub.notifier.call(NotifierActor.backlog)
    assert backlog == NotifierBacklog(graces=1, queued=1, people=1)
    await hub.move(2 * MINUTE)  # the batch (opened before the restart) is due
    await hub.smtp.find("ana@acme.example", "Brno gateway is offline")
    await hub.move(3 * MINUTE)  # Plzen got a whole new grace from the restart, then a window
    await hub.move(2 * MINUTE)
    assert await hub.sent() == [
        ("ana@acme.example", "Brno gateway is offline"),
        ("ana@acme.example", "Plzen office is offline"),
    ]
    await hub.stop()
    await hub.start()
    await hub.move(10 * MINUTE)
    assert len(await hub.sent()) == 2, "nothing is sent twice after another restart"


async def test_a_restarted_hub_announces_back_online_what_it_had_announced_offline(
    hub: Hub,
) -> None:
    """Who was told "offline" before a restart is told "back online" after it."""
    org = await hub.org("ana@acme.example")
    await online(hub, org, "Brno gateway")
    await offline(hub, org, "Brno gateway")
    await hub.move(4 * MINUTE + 1)
    await hub.stop()
    await hub.start()
    await online(hub, org, "Brno gateway")  # the first state the new hub hears
    await hub.move(2 * MINUTE)
    await hub.smtp.find("ana@acme.example", "Brno gateway is back online")


async def test_smtp_down_then_refusing_with_4xx_loses_nothing(hub: Hub) -> None:
    """With the SMTP server refusing (451) and then down, the notifier is unaffected: the
    email is retried by the mailer's outbox and delivered once the server takes it."""
    org = await hub.org("ana@acme.example")
    await online(hub, org, "Brno gateway")
    hub.smtp.refuse_with = "451 Try again later"
    await offline(hub, org, "Brno gateway")
    await hub.move(4 * MINUTE + 1)
    [message] = await hub.store.outbox.recent(10)
    await hub.attempts(message.id, 1)
    hub.smtp.stop()
    await hub.move(5)  # the retry meets a closed port
    await hub.attempts(message.id, 2)
    hub.smtp.refuse_with = None
    hub.smtp.start()
    await online(hub, org, "Brno gateway")
    await hub.move(2 * MINUTE)
    offline_mail = await hub.smtp.find("ana@acme.example", "is offline")
    assert offline_mail["Subject"] == "Brno gateway is offline"
    await hub.smtp.find("ana@acme.example", "back online")
    assert len(hub.smtp.messages) == 2


async def test_a_removed_appliance_or_member_is_not_announced(hub: Hub) -> None:
    """Lines of a removed appliance are dropped; a member removed meanwhile gets nothing."""
    org = await hub.org("ana@acme.example", "bob@acme.example")
    await online(hub, org, "Brno gateway", "Plzen office")
    await offline(hub, org, "Brno gateway", "Plzen office")
    await hub.move(2 * MINUTE + 1)
    view = ApplianceView(
        "ap-Plzen office", org.id, "Plzen office", "control", "9.4.5", "red", (), 0, False, "", ""
    )
    hub.bus.publish(ApplianceRemoved(org.id, org.user_ids, view))
    await hub.store.organizations.remove_member(org.id, org.members[1].id)
    await hub.move(2 * MINUTE)
    assert await hub.sent() == [("ana@acme.example", "Brno gateway is offline")]


async def test_the_grace_is_set_per_organization_from_0_to_30_minutes(hub: Hub) -> None:
    """A member sets their organization's grace; 0 announces at once; outside 0-30 is
    refused; a non-member cannot read or set it."""
    org = await hub.org("ana@acme.example")
    other = await hub.org("eva@other.example")
    ana = org.members[0].id
    assert hub.notifier is not None
    settings = await hub.notifier.call(NotifierActor.org_settings, ana, org.id)
    assert (settings.grace_minutes, settings.default_grace_minutes) == (2, 2)
    with pytest.raises(InvalidInput):
        await hub.notifier.call(NotifierActor.set_org_grace, ana, org.id, 31)
    with pytest.raises(NotFound):
        await hub.notifier.call(NotifierActor.set_org_grace, ana, other.id, 5)
    changed = await hub.notifier.call(NotifierActor.set_org_grace, ana, org.id, 0)
    assert changed.grace_minutes == 0
    await online(hub, org, "Brno gateway")
    await offline(hub, org, "Brno gateway")
    await hub.move(2 * MINUTE)
    assert await hub.sent() == [("ana@acme.example", "Brno gateway is offline")]


async def stored_appliance(hub: Hub, org: Org, name: str) -> Appliance:
    """An appliance of `org` in the store, with the id `report` gives it."""
    appliance = dataclasses.replace(make_appliance(None, org_id=org.id, name=name), id=f"ap-{name}")
    return await hub.store.appliances.add(appliance)


async def test_a_maintenance_window_silences_the_appliance_without_a_burst_at_its_end(
    hub: Hub,
) -> None:
    """Offline and back during maintenance: no email, none when it ends; already announced
    offline, back in maintenance: no "back online" then or later; after it, alerts again."""
    org = await hub.org("ana@acme.example")
    ana = org.members[0].id
    assert hub.notifier is not None
    await stored_appliance(hub, org, "Brno gateway")
    await stored_appliance(hub, org, "Plzen office")
    await online(hub, org, "Brno gateway", "Plzen office")
    await offline(hub, org, "Plzen office")
    await hub.move(4 * MINUTE + 1)
    assert await hub.sent() == [("ana@acme.example", "Plzen office is offline")]
    until = hub.clock.now() + timedelta(hours=1)
    for name in ("ap-Brno gateway", "ap-Plzen office"):
        answer = await hub.notifier.call(NotifierActor.set_maintenance, ana, org.id, name, until)
    assert answer.maintenance == {"ap-Brno gateway": until, "ap-Plzen office": until}
    await offline(hub, org, "Brno gateway")
    await hub.move(5 * MINUTE)
    await online(hub, org, "Brno gateway", "Plzen office")
    await hub.move(5 * MINUTE)
    await hub.jump(60 * MINUTE)
    await hub.move(5 * MINUTE)
    assert await hub.sent() == [("ana@acme.example", "Plzen office is offline")]
    await offline(hub, org, "Brno gateway")
    await hub.move(4 * MINUTE + 1)
    assert ("ana@acme.example", "Brno gateway is offline") in await hub.sent()
    with pytest.raises(InvalidInput):
        await hub.notifier.call(
            NotifierActor.set_maintenance,
            ana,
            org.id,
            "ap-Brno gateway",
            until + timedelta(days=31),
        )
    with pytest.raises(NotFound):
        await hub.notifier.call(NotifierActor.set_maintenance, ana, org.id, "ap-other", until)


async def test_each_member_chooses_per_organization_and_per_appliance(hub: Hub) -> None:
    """Ana turns online/offline email off for the organization but on for Brno; Bob keeps the
    defaults: only Brno reaches Ana, both reach Bob."""
    org = await hub.org("ana@acme.example", "bob@acme.example")
    ana = org.members[0].id
    assert hub.notifier is not None
    await stored_appliance(hub, org, "Brno gateway")
    await hub.notifier.call(NotifierActor.set_choice, ana, org.id, "", Choice(False, "error"))
    chosen = await hub.notifier.call(
        NotifierActor.set_choice, ana, org.id, "ap-Brno gateway", Choice(True, "warning")
    )
    assert chosen.choices == {
        "": Choice(False, "error"),
        "ap-Brno gateway": Choice(True, "warning"),
    }
    with pytest.raises(InvalidInput):
        await hub.notifier.call(NotifierActor.set_choice, ana, org.id, "", Choice(True, "info"))
    await online(hub, org, "Brno gateway", "Plzen office")
    await offline(hub, org, "Brno gateway", "Plzen office")
    await hub.move(4 * MINUTE + 1)
    assert await hub.sent() == [
        ("ana@acme.example", "Brno gateway is offline"),
        ("bob@acme.example", "MyKerio appliances: 2 went offline"),
    ]


async def test_appliance_notifications_are_emailed_from_each_members_severity(hub: Hub) -> None:
    """A warning reaches the member who chose "from warning", not the one on the default
    ("from error"); raised again unchanged it is not news; an error reaches both."""
    org = await hub.org("ana@acme.example", "bob@acme.example")
    ana = org.members[0].id
    assert hub.notifier is not None
    appliance = await stored_appliance(hub, org, "Brno gateway")
    await hub.notifier.call(NotifierActor.set_choice, ana, org.id, "", Choice(True, "warning"))
    low = Notice("low_memory", "low_memory", "warning", "Low memory", T0)
    for _ in range(2):
        await hub.notifier.call(NotifierActor.notice_reported, appliance, low)
    await hub.move(2 * MINUTE)
    assert await hub.sent() == [("ana@acme.example", "Brno gateway: Low memory (warning)")]
    expired = Notice("licence", "licence_expiry", "error", "The licence has expired.", T0)
    await hub.notifier.call(NotifierActor.notice_reported, appliance, expired)
    await hub.move(2 * MINUTE)
    subject = "Brno gateway: Expiration of licence (error)"
    assert [s for _, s in await hub.sent()].count(subject) == 2
    listed = await hub.notifier.call(NotifierActor.appliance_notifications, ana, org.id)
    assert [n.type for n in listed] == ["low_memory", "licence_expiry"]
    await hub.notifier.call(NotifierActor.notice_reported, appliance, Cleared(None, ("licence",)))
    listed = await hub.notifier.call(NotifierActor.appliance_notifications, ana, org.id)
    assert [n.type for n in listed] == ["licence_expiry"]
