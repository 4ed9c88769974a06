"""The notification relay between the real simulator and the real hub (protocol v2, feature
`relay`), delivering through a real SMTP server (aiosmtpd): "Test" from an appliance nobody
added yet, the guide's refusal texts in the appliance's debug log, the quota window, the bounce
blacklist by 5xx and the appliance refusal with its lifting, the cap per source address."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from actors.relay import RelayActor
from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.agent.relay import Outcome
from mykerio.clock import FakeClock
from mykerio.models import BlacklistEntry
from mykerio.relay.verp import ReturnPaths
from tests.agent.conftest import FakeSleep
from tests.agent.test_agent_real_hub import until
from tests.api_client import ApiSession
from tests.conftest import hub_config_for, running_hub
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from web.hub import Hub

WAIT = 30.0
QUOTA_TEXT = "Email to {} rejected. Your appliance exhausted email quota."
BLACKLISTED_TEXT = (
    "Recipient {}: Email send failed. Recipient is blacklisted due to bounce messages."
)
BOUNCED_TEXT = (
    "Email to {} rejected. Your appliance is not allowed to send emails due to too many "
    "bounced emails."
)
FORMAT_TEXT = "Recipient {}: Email address format is not valid."

running: list[tuple[ApplianceLink, asyncio.Task[None]]] = []


@pytest.fixture(autouse=True)
async def stop_simulators() -> AsyncIterator[None]:
    yield
    while running:
        link, task = running.pop()
        link.stop()
        async with asyncio.timeout(WAIT):
            await task


async def waiting_simulator(
    hub: Hub, tmp_path: Path, name: str = "gw-brno", product: str = "control"
) -> ApplianceLink:
    """A simulator that connected and waits to be added (a pairing code on its screen)."""
    endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    profile = Profile(product, "9.4.5", host_name=name, protocol=2)  # type: ignore[arg-type]
    link = ApplianceLink(IdentityStore(tmp_path / name), profile, endpoint, sleep=FakeSleep())
    running.append((link, asyncio.create_task(link.run())))
    await until(link, "pairing")
    return link


async def linked_simulator(
    hub: Hub, api: ApiSession, smtp: LoopbackSmtp, tmp_path: Path
) -> ApplianceLink:
    """A simulator added to Ana's organization as "Brno gateway"."""
    org_id = await member(api, smtp, "ana@acme.example", "Ana Novak")
    link = await waiting_simulator(hub, tmp_path)
    assert link.view.add_link is not None
    code = parse_qs(urlparse(link.view.add_link).fragment)["code"][0]
    added = await api.post(
        f"/api/v1/organizations/{org_id}/appliances", {"code": code, "name": "Brno gateway"}
    )
    assert added.status == 201, added
    await until(link, "linked")
    return link


def secret(hub: Hub) -> bytes:
    """The hub's secret key (its return paths' key derives from it)."""
    return base64.urlsafe_b64decode((hub.config.data_dir / "secret.key").read_bytes().strip())


async def blacklist(hub: Hub) -> tuple[BlacklistEntry, ...]:
    assert hub.router is not None
    return await hub.router.relay().call(RelayActor.blacklist)


async def blacklisted(hub: Hub, address: str) -> BlacklistEntry:
    """The blacklist entry of `address`, once the hub has one (it follows the delivery)."""
    async with asyncio.timeout(WAIT):
        while True:
            for entry in await blacklist(hub):
                if entry.address == address:
                    return entry
            await asyncio.sleep(0.02)  # (the 5xx arrives from the mailer's own task)


async def test_an_appliance_nobody_added_sends_a_test_email_from_the_relay_address(
    hub: Hub, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Any proven key may relay: "Test" from a waiting appliance is accepted, arrives From the
    hub's relay address naming the appliance, with a signed return path, and is logged."""
    link = await waiting_simulator(hub, tmp_path)

    outcome = await link.relay.test("ana@example.com")

    assert outcome == Outcome("ana@example.com", True, "")
    mail = await smtp_server.find("ana@example.com", "Kerio Control test email")
    [sender] = mail["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("gw-brno via MyKerio", "relay@localhost")
    assert "gw-brno" in mail.get_content()
    return_path = str(mail["Return-Path"]).strip("<>")
    paths = ReturnPaths(secret(hub), "localhost")
    assert paths.message_of(return_path) is not None
    assert link.relay.debug_log[-1].endswith("{MyKerio} Email to ana@example.com accepted")


async def test_refusals_reach_the_debug_log_in_the_guides_words(
    hub: Hub, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """A bad TLD, a bad format and a bounced address are refused with guide 5.1's texts, which
    the appliance logs as `{MyKerio} Operation failed …`; the good recipient still goes."""
    smtp_server.refusals["bob@example.com"] = "550 5.1.1 <bob@example.com>: user unknown"
    link = await waiting_simulator(hub, tmp_path)
    await link.relay.send(("bob@example.com",), "Alert", "Low memory\n")
    await blacklisted(hub, "bob@example.com")

    outcomes = await link.relay.send(
        ("asmith@example.local", "not an address", "bob@example.com", "ana@example.com"),
        "Alert",
        "Low memory\n",
    )

    assert [(o.accepted, o.message) for o in outcomes] == [
        (False, FORMAT_TEXT.format("asmith@example.local")),
        (False, FORMAT_TEXT.format("not an address")),
        (False, BLACKLISTED_TEXT.format("bob@example.com")),
        (True, ""),
    ]
    log = list(link.relay.debug_log)[-4:]
    assert log[0].endswith(
        "{MyKerio} Operation failed Recipient asmith@example.local: "
        "Email address format is not valid."
    )
    assert log[2].endswith(
        "{MyKerio} Operation failed Recipient bob@example.com: Email send failed. "
        "Recipient is blacklisted due to bounce messages."
    )
    assert log[0].startswith("[")
    assert "] {MyKerio}" in log[0]
    await smtp_server.find("ana@example.com", "Alert")


async def test_quota_is_100_a_window_that_resets_24_hours_after_its_first_email(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path, clock: FakeClock
) -> None:
    """A linked appliance gets 100 emails; the 101st is refused with the quota text until
    24 h after the window's first email."""
    link = await linked_simulator(hub, api, smtp_server, tmp_path)
    first = [f"u{n}@example.com" for n in range(50)]
    second = [f"v{n}@example.com" for n in range(50)]
    assert all(o.accepted for o in await link.relay.send(first, "Report", "ok\n"))
    clock.advance(23 * 3600)
    assert all(o.accepted for o in await link.relay.send(second, "Report", "ok\n"))

    [refused] = await link.relay.send(["late@example.com"], "Report", "ok\n")
    assert refused.message == QUOTA_TEXT.format("late@example.com")
    assert link.relay.debug_log[-1].endswith(
        "{MyKerio} Operation failed Email to late@example.com rejected. "
        "Your appliance exhausted email quota."
    )
    clock.advance(3600)
    [again] = await link.relay.send(["late@example.com"], "Report", "ok\n")
    assert again.accepted
    await smtp_server.find("late@example.com", "Report", WAIT)
    delivered = await smtp_server.wait_for(101 + 1, WAIT)  # (+ Ana's confirmation email)
    assert sum(str(m["Subject"]) == "Report" for m in delivered) == 101


async def test_five_bounced_recipients_refuse_the_appliance_until_two_weeks_pass(
    hub: Hub, smtp_server: LoopbackSmtp, tmp_path: Path, clock: FakeClock
) -> None:
    """Each 5xx blacklists its recipient for 2 weeks from that bounce; with 5 of them the
    appliance is refused altogether, and sends again once they are released."""
    bad = [f"gone{n}@example.com" for n in range(5)]
    for address in bad:
        smtp_server.refusals[address] = f"550 5.1.1 <{address}>: user unknown"
    link = await waiting_simulator(hub, tmp_path)
    assert all(o.accepted for o in await link.relay.send(bad, "Alert", "x\n"))
    entries = [await blacklisted(hub, address) for address in bad]
    assert all(e.release_at == e.last_bounce_at + timedelta(weeks=2) for e in entries)

    [refused] = await link.relay.send(["ana@example.com"], "Alert", "x\n")
    assert refused.message == BOUNCED_TEXT.format("ana@example.com")

    clock.advance(timedelta(weeks=2).total_seconds())
    [lifted] = await link.relay.send(["ana@example.com"], "Alert", "x\n")
    assert lifted.accepted
    assert await blacklist(hub) == ()


async def test_fresh_keys_from_one_address_share_the_source_cap(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> None:
    """Keys in no organization from one IP address share `[relay] source_quota`: a new key
    past it is refused with the quota text, however fresh."""
    config = hub_config_for(tmp_path, smtp_server, sms_gateway, **{"relay.source_quota": 3})
    async with running_hub(config, clock) as hub:
        first = await waiting_simulator(hub, tmp_path, "gw-one")
        addresses = ["a@example.com", "b@example.com", "c@example.com"]
        assert all(o.accepted for o in await first.relay.send(addresses, "Alert", "x\n"))
        fresh = await waiting_simulator(hub, tmp_path, "gw-two")
        [refused] = await fresh.relay.send(["d@example.com"], "Alert", "x\n")
        assert refused.message == QUOTA_TEXT.format("d@example.com")
        while running:
            link, task = running.pop()
            link.stop()
            await task


async def test_a_report_with_an_attachment_arrives_with_it(
    hub: Hub, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """A statistics report's CSV attachment reaches the recipient as the appliance sent it,
    Reply-To the appliance's own address."""
    link = await waiting_simulator(hub, tmp_path)
    link.relay.from_address = "gw-brno@example.com"
    report = b"user,bytes\nana,1024\n"

    [outcome] = await link.relay.send(
        ["ana@example.com"],
        "Weekly statistics",
        "The report is attached.\n",
        attachments=[("statistics.csv", "text/csv", report)],
    )

    assert outcome.accepted
    mail = await smtp_server.find("ana@example.com", "Weekly statistics")
    assert str(mail["Reply-To"]) == "gw-brno@example.com"
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == "statistics.csv"
    assert attached.get_content_type() == "text/csv"
    assert attached.get_payload(decode=True) == report
