"""`GET /api/v1/me/appliances`: the appliances of every organization the caller belongs to,
organization by organization, and of no other."""

from __future__ import annotations

from mykerio.clock import FakeClock
from tests.api_client import ApiSession
from tests.conftest import api_session
from tests.fleet import BRANCH, KERIO, seed_organization
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from web.hub import Hub


async def test_lists_every_organization_of_the_caller_and_no_other(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Ana sees her own empty organization, KERIO and Branch with their appliances by name;
    Bob, logged in beside her, sees only his own organization."""
    await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    assert hub.store is not None
    ana = await hub.store.users.by_email("ana@acme.example")
    assert ana is not None
    await seed_organization(hub, ana.id, "KERIO", KERIO, clock.now())
    await seed_organization(hub, ana.id, "Branch", BRANCH, clock.now())

    answer = await api.get("/api/v1/me/appliances")
    assert answer.status == 200, answer
    groups = answer.json["organizations"]
    assert [g["name"] for g in groups] == ["acme.example", "Branch", "KERIO"]
    assert [a["name"] for a in groups[1]["appliances"]] == ["box-ostrava", "gw-brno", "mail-brno"]
    kerio = {a["name"]: a for a in groups[2]["appliances"]}
    assert len(kerio) == len(KERIO)
    assert kerio["control1.kerio.com"]["status"] == "yellow"
    assert kerio["control1.kerio.com"]["reasons"] == ["Update available"]
    assert kerio["control1.kerio.com"]["pending"] == 2
    assert {a["org_id"] for a in groups[2]["appliances"]} == {groups[2]["id"]}

    bob = api_session(hub, "bob-browser")
    await member(bob, smtp_server, "bob@other.example", "Bob Smith")
    theirs = (await bob.get("/api/v1/me/appliances")).json["organizations"]
    assert [(g["name"], g["appliances"]) for g in theirs] == [("other.example", [])]


async def test_needs_a_login(hub: Hub, api: ApiSession) -> None:
    """Without a session the answer is 401."""
    answer = await api.get("/api/v1/me/appliances")
    assert answer.status == 401
