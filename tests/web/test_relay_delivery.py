"""Relayed mail on its way out and its bounces coming back, against a real SMTP server
(aiosmtpd) that accepts, answers 4xx, or is down, with the hub's timers on a fake clock:
nothing is lost while the server is down for an hour, nor across a hub restart; a delivery
status notification to a signed return path blacklists the recipient, any other is dropped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from actors.relay import RelayActor
from mykerio.clock import FakeClock
from mykerio.config import Config
from mykerio.models import OutboxMessage
from mykerio.relay.submission import RelaySubmission
from mykerio.relay.verp import ReturnPaths
from tests.conftest import hub_config_for
from tests.mykerio.relay.test_verp_and_dsn import dsn
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.test_relay import secret
from web.hub import Hub

WAIT = 30.0


@pytest.fixture
def config(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, free_port: int
) -> Config:
    """The test hub's settings with the bounce endpoint on a free loopback port."""
    return hub_config_for(
        tmp_path,
        smtp_server,
        sms_gateway,
        **{"relay.inbound_smtp": True, "relay.inbound_port": free_port},
    )


@pytest.fixture
async def hub(config: Config, clock: FakeClock) -> AsyncIterator[Hub]:
    """A hub whose mailer retries on the fake clock."""
    running = Hub(config, clock=clock, schedule=clock.call_later)
    await running.start()
    try:
        yield running
    finally:
        await running.stop(deadline=5)


async def relay(hub: Hub, *to: str, key: str = "k1") -> list[bool]:
    """One email from the appliance key `key` (in no organization); accepted per recipient."""
    assert hub.router is not None
    submission = RelaySubmission(
        key_id=key,
        appliance_name="gw-brno",
        org_id="",
        source_ip="192.0.2.7",
        to=to,
        subject="Alert from gw-brno",
        text="Low memory\n",
    )
    answer = await hub.router.relay().call(RelayActor.submit, submission)
    return [verdict.accepted for verdict in answer.verdicts]


async def relayed(hub: Hub, to: str) -> OutboxMessage:
    """The relayed message to `to` in the outbox."""
    assert hub.store is not None
    for message in await hub.store.outbox.recent(50):
        if message.to == to and message.origin:
            return message
    raise AssertionError(f"no relayed message to {to}")


async def attempted(hub: Hub, to: str, attempts: int) -> OutboxMessage:
    """The relayed message to `to` once the mailer made `attempts` attempts (or sent it)."""
    assert isinstance(hub.clock, FakeClock)
    async with asyncio.timeout(WAIT):
        while True:
            message = await relayed(hub, to)
            if message.attempts >= attempts or message.status != "pending":
                return message
            # A retry timer armed just after the clock moved is due at once: fire it.
            hub.clock.advance(0)
            await asyncio.sleep(0.01)  # (the attempt runs in the mailer's own task)


async def test_a_4xx_is_retried_and_delivered_later(
    hub: Hub, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """A temporary refusal leaves the email pending; the next attempt delivers it."""
    smtp_server.refusals["ana@example.com"] = "451 4.7.1 Greylisted, try again later"
    assert await relay(hub, "ana@example.com") == [True]
    first = await attempted(hub, "ana@example.com", 1)
    assert (first.status, first.last_error[:3]) == ("pending", "451")

    del smtp_server.refusals["ana@example.com"]
    clock.advance(5)
    assert (await attempted(hub, "ana@example.com", 2)).status == "sent"
    mail = await smtp_server.find("ana@example.com", "Alert from gw-brno")
    assert mail["Reply-To"] is None


async def test_down_for_an_hour_and_a_restart_lose_nothing(
    hub: Hub, config: Config, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """The SMTP server is down for an hour and the hub restarts meanwhile: the accepted email
    stays pending through every retry and the restart, and arrives once the server is back."""
    smtp_server.stop()
    assert await relay(hub, "ana@example.com") == [True]
    elapsed, attempts = 0.0, 1
    while elapsed < 1800:
        message = await attempted(hub, "ana@example.com", attempts)
        assert message.status == "pending"
        step = (message.next_attempt_at - clock.now()).total_seconds()
        clock.advance(step)
        elapsed += step
        attempts += 1
    await hub.stop(deadline=5)

    again = Hub(config, clock=clock, schedule=clock.call_later)
    await again.start()
    try:
        while elapsed < 3600:
            message = await attempted(again, "ana@example.com", attempts)
            assert message.status == "pending"
            step = (message.next_attempt_at - clock.now()).total_seconds()
            clock.advance(step)
            elapsed += step
            attempts += 1
        await attempted(again, "ana@example.com", attempts)
        smtp_server.start()
        clock.advance(600)
        assert (await attempted(again, "ana@example.com", attempts + 1)).status == "sent"
        mail = await smtp_server.find("ana@example.com", "Alert from gw-brno")
        assert mail.get_content().strip() == "Low memory"
    finally:
        await again.stop(deadline=5)


async def send_bounce(hub: Hub, return_path: str, report: bytes) -> None:
    """A remote mail server sends `report` from the null sender to `return_path` at the hub's
    bounce endpoint (`SMTPRecipientRefused` if the hub refuses the address)."""
    port = hub.config.relay.inbound_port
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10) as smtp:
        await smtp.mail("")
        await smtp.rcpt(return_path)
        await smtp.data(report)


async def test_a_delivery_status_notification_blacklists_its_recipient(
    hub: Hub, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """A DSN reporting a permanent failure, sent to the return path of a relayed email,
    blacklists that email's recipient for 2 weeks; the appliance's next email to it is refused."""
    assert await relay(hub, "bob@example.com") == [True]
    mail: EmailMessage = await smtp_server.find("bob@example.com", "Alert from gw-brno")
    return_path = str(mail["Return-Path"]).strip("<>")
    assert return_path.startswith("bounce-")

    await send_bounce(hub, return_path, dsn("failed", "5.1.1", "bob@example.com"))

    assert hub.router is not None
    [entry] = await hub.router.relay().call(RelayActor.blacklist)
    assert entry.address == "bob@example.com"
    assert entry.release_at == clock.now() + timedelta(weeks=2)
    assert "5.1.1" in entry.last_reason
    assert await relay(hub, "bob@example.com") == [False]


async def test_bounces_to_unknown_return_paths_are_dropped(
    hub: Hub, smtp_server: LoopbackSmtp
) -> None:
    """An address that is no signed return path is refused at RCPT; a signed one that names no
    relayed email, and a report of a mere delay, blacklist nobody."""
    with pytest.raises(aiosmtplib.SMTPRecipientRefused):
        await send_bounce(hub, "postmaster@localhost", dsn("failed", "5.1.1"))
    forged = ReturnPaths(b"x" * 32, "localhost").for_message("0" * 32)
    with pytest.raises(aiosmtplib.SMTPRecipientRefused):
        await send_bounce(hub, forged, dsn("failed", "5.1.1"))
    unknown = ReturnPaths(secret(hub), "localhost").for_message("0" * 32)
    await send_bounce(hub, unknown, dsn("failed", "5.1.1"))
    assert await relay(hub, "bob@example.com") == [True]
    mail = await smtp_server.find("bob@example.com", "Alert from gw-brno")
    await send_bounce(hub, str(mail["Return-Path"]).strip("<>"), dsn("delayed", "4.4.1"))

    assert hub.router is not None
    assert await hub.router.relay().call(RelayActor.blacklist) == ()
