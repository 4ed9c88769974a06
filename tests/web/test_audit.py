"""The access audit over the API: what is recorded, filters, paging and who may read it."""

from __future__ import annotations

from datetime import timedelta

from mykerio.clock import FakeClock
from mykerio.models import AccessEvent
from tests.api_client import ApiSession
from tests.conftest import api_session
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import login, register
from web.hub import Hub

EMAIL = "ana@acme.example"


async def test_logins_logouts_and_failures_are_recorded_with_ip_and_browser(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Each login, logout and failed login appears with time, IP and user agent."""
    await register(api, smtp_server, EMAIL)
    await login(api, EMAIL, "Wrong-pass-1")
    clock.advance(1)
    await login(api, EMAIL)
    clock.advance(1)
    await api.request("DELETE", "/api/v1/sessions")
    clock.advance(1)
    await login(api, EMAIL)
    events = (await api.get("/api/v1/audit")).json["events"]
    assert [e["action"] for e in events] == ["login", "logout", "login", "login_failed"]
    assert all(e["ip"] == "127.0.0.1" for e in events)
    assert all(e["user_agent"] == "pytest-client" for e in events)
    failed = await api.get("/api/v1/audit?action=login_failed")
    assert [e["action"] for e in failed.json["events"]] == ["login_failed"]
    none = await api.get("/api/v1/audit?ip=10.9.9.9")
    assert none.json["events"] == []


async def test_date_range_and_paging(
    api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Pages follow each other without gaps or repeats; a date range narrows the list."""
    await register(api, smtp_server, EMAIL)
    start = clock.now()
    for _ in range(7):
        await login(api, EMAIL)
        clock.advance(60)
    seen: list[str] = []
    cursor = ""
    while True:
        page = await api.get(f"/api/v1/audit?limit=3&cursor={cursor}")
        seen.extend(e["id"] for e in page.json["events"])
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7
    since = (start + (clock.now() - start) / 2).isoformat()
    recent = await api.get(f"/api/v1/audit?since={since.replace('+', '%2B')}")
    assert 0 < len(recent.json["events"]) < 7


async def test_members_see_each_others_records_but_not_other_organizations(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Reading an organization's audit needs membership; a foreign id answers 404."""
    await register(api, smtp_server, EMAIL)
    await login(api, EMAIL)
    ana_org = (await api.get("/api/v1/organizations")).json["selected"]
    other = api_session(hub)
    await register(other, smtp_server, "bob@other.example", name="Bob Smith")
    await login(other, "bob@other.example")
    bob_org = (await other.get("/api/v1/organizations")).json["selected"]
    own = await other.get(f"/api/v1/audit?org_id={bob_org}")
    assert own.status == 200
    assert {e["email"] for e in own.json["events"]} == {"bob@other.example"}
    foreign = await other.get(f"/api/v1/audit?org_id={ana_org}")
    assert foreign.status == 404
    missing = await other.get("/api/v1/audit?org_id=doesnotexist")
    assert (missing.status, missing.error_code) == (foreign.status, foreign.error_code)


async def test_bad_filters_get_clear_errors(api: ApiSession, smtp_server: LoopbackSmtp) -> None:
    """An unknown action or malformed date is a 400 that says what is wrong."""
    await register(api, smtp_server, EMAIL)
    await login(api, EMAIL)
    assert (await api.get("/api/v1/audit?action=reboot")).status == 400
    bad_date = await api.get("/api/v1/audit?since=yesterday")
    assert bad_date.status == 400
    assert "since" in bad_date.json["error"]["message"]
    assert (await api.get("/api/v1/audit")).status == 200


async def test_a_last_full_page_offers_no_older_page(
    api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """When the records fill the last page exactly, its answer has no cursor to an empty page."""
    await register(api, smtp_server, EMAIL)
    for _ in range(6):
        await login(api, EMAIL)
        clock.advance(60)
    first = await api.get("/api/v1/audit?limit=3")
    assert len(first.json["events"]) == 3
    assert first.json["next_cursor"]
    second = await api.get(f"/api/v1/audit?limit=3&cursor={first.json['next_cursor']}")
    assert len(second.json["events"]) == 3
    assert second.json["next_cursor"] == ""
    history_full = await api.get("/api/v1/audit?limit=6")
    assert history_full.json["next_cursor"] == ""


async def test_ip_filter_takes_an_address_or_a_network_prefix(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """A prefix such as 127.0.0.0/8 matches every address in it, also across pages; a typo
    is a 400 naming the ip field."""
    await register(api, smtp_server, EMAIL)
    store = hub.store
    assert store is not None
    user = await store.users.by_email(EMAIL)
    assert user is not None
    for number in range(12):
        ip = "192.0.2.9" if number % 3 else "198.51.100.7"
        await store.audit.add(
            AccessEvent(
                id=f"seeded{number:02}",
                user_id=user.id,
                email=EMAIL,
                at=clock.now() - timedelta(minutes=number + 1),
                ip=ip,
                user_agent="seeded",
                action="login",
                detail="",
            )
        )
    await login(api, EMAIL)
    exact = await api.get("/api/v1/audit?ip=198.51.100.7")
    assert [e["ip"] for e in exact.json["events"]] == ["198.51.100.7"] * 4
    seen: list[str] = []
    cursor = ""
    while True:
        page = await api.get(f"/api/v1/audit?ip=192.0.2.0/24&limit=3&cursor={cursor}")
        seen.extend(e["id"] for e in page.json["events"])
        assert {e["ip"] for e in page.json["events"]} <= {"192.0.2.9"}
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 8
    loopback = await api.get("/api/v1/audit?ip=127.0.0.0/8")
    assert [e["ip"] for e in loopback.json["events"]] == ["127.0.0.1"]
    nothing = await api.get("/api/v1/audit?ip=10.0.0.0/8")
    assert nothing.json["events"] == []
    typo = await api.get("/api/v1/audit?ip=192.0.2")
    assert typo.status == 400
    assert typo.json["error"]["field"] == "ip"
    assert "network prefix" in typo.json["error"]["message"]
