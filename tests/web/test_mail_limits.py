"""Per-address mail limits (mykerio/mail/limits.py) over the API, counted at a real SMTP server:
reset, confirmation and invitation links, 3 of each kind per address in 15 minutes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from mykerio.clock import FakeClock
from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import register, token_in
from tests.web.org_helpers import member
from web.hub import Hub

EMAIL = "ana@acme.example"
NEW = "Granite-Meadow-77"


async def counted(hub: Hub, clock: FakeClock, key: str, count: int) -> None:
    """Wait until the hub's background work has counted `count` emails under `key`."""
    assert hub.store is not None
    async with asyncio.timeout(10):
        since = clock.now() - timedelta(minutes=15)
        # The hub answers before its background work counts; that work signals nothing.
        while await hub.store.throttle.count(key, since) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def sent_to(smtp: LoopbackSmtp, address: str, subject: str) -> list[str]:
    """The tokens of the delivered emails to `address` whose subject contains `subject`."""
    return [
        token_in(m) for m in smtp.messages if m["To"] == address and subject in str(m["Subject"])
    ]


async def test_ten_reset_requests_send_three_emails_and_answer_the_same(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Of 10 reset requests in 15 minutes 3 are mailed, all answer alike, the last mailed link
    still works, and after 15 minutes a request is mailed again."""
    await register(api, smtp_server, EMAIL)
    answers = [await api.post("/api/v1/password-resets", {"email": EMAIL}) for _ in range(10)]
    assert len({(a.status, str(a.json)) for a in answers}) == 1
    await smtp_server.wait_for(4)
    await counted(hub, clock, "mail:reset:ana@acme.example", 10)
    tokens = sent_to(smtp_server, EMAIL, "Reset")
    assert len(tokens) == 3
    clock.advance(15 * 60 + 1)
    await api.post("/api/v1/password-resets", {"email": EMAIL})
    await smtp_server.wait_for(5)
    assert len(sent_to(smtp_server, EMAIL, "Reset")) == 4
    assert len(smtp_server.messages) == 5


async def test_refused_reset_requests_leave_the_last_link_working(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """A request past the limit sends nothing and does not void the link mailed before it."""
    await register(api, smtp_server, EMAIL)
    for _ in range(5):
        await api.post("/api/v1/password-resets", {"email": EMAIL})
    await smtp_server.wait_for(4)
    await counted(hub, clock, "mail:reset:ana@acme.example", 5)
    body = {"password": NEW, "confirm": NEW}
    results = [
        (await api.post("/api/v1/password-resets/complete", {"token": token, **body})).status
        for token in sent_to(smtp_server, EMAIL, "Reset")
    ]
    assert sorted(results) == [200, 400, 400], "the newest mailed link works"


async def test_confirmation_mail_is_limited_per_address(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Registering and asking for new confirmation links mails an address 3 times in 15
    minutes, answering alike each time."""
    await register(api, smtp_server, "bo@acme.example", confirm=False)
    answers = [
        await api.post("/api/v1/registrations/resend", {"email": "bo@acme.example"})
        for _ in range(6)
    ]
    assert len({(a.status, str(a.json)) for a in answers}) == 1
    again = await api.post(
        "/api/v1/registrations",
        {"full_name": "Bo", "email": "bo@acme.example", "password": "Tulip-Harbour-42"},
    )
    assert again.status == 201
    await smtp_server.wait_for(3)
    await counted(hub, clock, "mail:confirmation:bo@acme.example", 8)
    assert len(smtp_server.messages) == 3
    clock.advance(15 * 60 + 1)
    await api.post("/api/v1/registrations/resend", {"email": "bo@acme.example"})
    await smtp_server.wait_for(4)
    assert len(smtp_server.messages) == 4


async def test_invitation_mail_is_limited_per_address(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Inviting and resending to one address mails it 3 times in 15 minutes; the API answers as
    before and the last link mailed keeps working."""
    org_id = await member(api, smtp_server, EMAIL, "Ana Novak")
    before = len(smtp_server.messages)
    invited = await api.post(
        f"/api/v1/organizations/{org_id}/invitations", {"email": "bob@other.example"}
    )
    assert invited.status == 201
    invitation = invited.json["id"]
    path = f"/api/v1/organizations/{org_id}/invitations/{invitation}/resend"
    resent = [await api.post(path) for _ in range(5)]
    assert {r.status for r in resent} == {200}, resent
    second = await api.post("/api/v1/organizations", {"name": "Branch"})
    other = await api.post(
        f"/api/v1/organizations/{second.json['id']}/invitations", {"email": "bob@other.example"}
    )
    assert other.status == 201, "another organization's invitation counts for the same address"
    await smtp_server.wait_for(before + 3)
    assert len(sent_to(smtp_server, "bob@other.example", "invited")) == 3
    clock.advance(15 * 60 + 1)
    assert (await api.post(path)).status == 200
    await smtp_server.wait_for(before + 4)
    assert len(sent_to(smtp_server, "bob@other.example", "invited")) == 4
