"""Shared definitions end to end: the real hub, its API and simulated appliances on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from mykerio.agent.definitions import REFUSED, LocalDefinitions
from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.definitions.events import DefinitionsSyncChanged
from mykerio.definitions.model import Kind
from mykerio.organizations.events import ApplianceChanged
from mykerio.protocol.envelope import Envelope
from tests.agent.conftest import FakeSleep
from tests.api_client import ApiSession
from tests.conftest import api_session
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from tests.web.test_appliances import paired
from tests.web.test_live_sessions import open_live
from web import live
from web.hub import Hub

WAIT = 10.0
IP = "ip_address_groups"
OFFICE = {
    "name": "Branch offices",
    "entries": [
        {"type": "Network", "addr1": "192.168.10.0", "addr2": "255.255.255.0"},
        {"type": "Host", "host": "vpn.example.com", "description": "VPN"},
    ],
}


class Fleet:
    """Simulated appliances linked to one organization of the running hub."""

    def __init__(self, hub: Hub, api: ApiSession, org_id: str, tmp_path: Path) -> None:
        self.hub, self.api, self.org_id, self.tmp_path = hub, api, org_id, tmp_path
        self.tasks: list[tuple[ApplianceLink, asyncio.Task[None]]] = []
        self.ids: dict[str, str] = {}

    async def add(
        self,
        name: str,
        product: str = "control",
        version: str = "9.4.0",
        definitions: LocalDefinitions | None = None,
    ) -> ApplianceLink:
        """Start an appliance, add it to the organization by its code, wait until linked."""
        endpoint = HubEndpoint.of(
            self.hub.url, cafile=str(self.hub.config.data_dir / "tls" / "cert.pem")
        )
        profile = Profile(product, version, host_name=name)  # type: ignore[arg-type]
        link = ApplianceLink(
            IdentityStore(self.tmp_path / name),
            profile,
            endpoint,
            sleep=FakeSleep(),
            definitions=definitions,
        )
        self.tasks.append((link, asyncio.create_task(link.run())))
        view = await link.wait_for(lambda v: v.add_link is not None, WAIT)
        assert view.add_link is not None
        code = parse_qs(urlparse(view.add_link).fragment)["code"][0]
        added = await self.api.post(
            f"/api/v1/organizations/{self.org_id}/appliances", {"code": code, "name": name}
        )
        assert added.status == 201, added
        self.ids[name] = added.json["id"]
        await link.wait_for(lambda v: v.phase == "linked", WAIT)
        return link

    async def stop(self) -> None:
        for link, task in self.tasks:
            link.stop()
            async with asyncio.timeout(WAIT):
                await task


@pytest.fixture
async def org(api: ApiSession, smtp_server: LoopbackSmtp) -> str:
    """A logged-in member's organization."""
    return await member(api, smtp_server, "ana@acme.example", "Ana Novak")


@pytest.fixture
async def fleet(hub: Hub, api: ApiSession, org: str, tmp_path: Path) -> AsyncIterator[Fleet]:
    """Appliances of the organization, stopped at the end."""
    appliances = Fleet(hub, api, org, tmp_path)
    try:
        yield appliances
    finally:
        await appliances.stop()


def path(org_id: str, kind: str = IP, rest: str = "") -> str:
    return f"/api/v1/organizations/{org_id}/definitions/{kind}{rest}"


async def sync_when(
    hub: Hub,
    api: ApiSession,
    org_id: str,
    predicate: Callable[[dict[str, Any]], bool],
    kind: str = IP,
) -> dict[str, Any]:
    """The kind's definitions view once `predicate` holds: read now and after every sync or
    appliance event the hub publishes (an appliance going offline is a roster change)."""
    changed = asyncio.Event()
    subscriptions = [
        hub.bus.subscribe(DefinitionsSyncChanged, lambda _event: changed.set()),
        hub.bus.subscribe(ApplianceChanged, lambda _event: changed.set()),
    ]
    try:
        async with asyncio.timeout(WAIT):
            while True:
                changed.clear()
                view: dict[str, Any] = (await api.get(path(org_id, kind))).json
                if predicate(view):
                    return view
                await changed.wait()
    finally:
        for subscription in subscriptions:
            subscription.cancel()


def states(view: dict[str, Any]) -> dict[str, tuple[str, int | None]]:
    return {a["name"]: (a["state"], a["version"]) for a in view["appliances"]}


def shared_names(link: ApplianceLink, kind: Kind = Kind.IP) -> list[str]:
    assert link.definitions is not None
    return [str(g["name"]) for g in link.definitions.shared(kind)]


async def holds(link: ApplianceLink, version: int, kind: Kind = Kind.IP) -> None:
    assert link.definitions is not None
    await link.definitions.wait_for(lambda d: d.version(kind) == version, WAIT)


async def test_a_new_group_reaches_every_control_and_no_other_appliance(
    hub: Hub, api: ApiSession, org: str, fleet: Fleet
) -> None:
    """Created in the hub → every Kerio Control 9+ has it; Connect, Operator and Control 8
    get nothing and are listed with the reason."""
    brno = await fleet.add("brno")
    praha = await fleet.add("praha")
    await fleet.add("mail", product="connect", version="10.0.1")
    await fleet.add("phones", product="operator", version="2.7.0")
    old = await fleet.add("old", version="8.6.2")

    created = await api.post(path(org, rest="/groups"), OFFICE)

    assert created.status == 201, created
    await holds(brno, 1)
    await holds(praha, 1)
    assert shared_names(brno) == shared_names(praha) == ["Branch offices"]
    assert brno.definitions is not None
    shared = brno.definitions.shared(Kind.IP)[0]
    assert shared["id"] == created.json["id"]
    view = await sync_when(
        hub, api, org, lambda v: states(v)["brno"] == states(v)["praha"] == ("in_sync", 1)
    )
    reasons = {a["name"]: a["reason"] for a in view["appliances"] if a["state"] == "not_eligible"}
    assert set(reasons) == {"mail", "phones", "old"}
    assert "Kerio Control only" in reasons["mail"]
    assert "needs 9.0 or newer" in reasons["old"]
    assert old.definitions is not None
    assert old.definitions.version(Kind.IP) == 0
    assert view["groups"][0]["entries"][1] == {
        "type": "Host",
        "host": "vpn.example.com",
        "description": "VPN",
        "enabled": True,
    }
    # Read-only on the appliance: its JSON-RPC API refuses local edits of shared entries.
    rows = brno.definitions.rpc("IpAddressGroups.get", {})["list"]
    answer = brno.definitions.rpc("IpAddressGroups.remove", {"groupIds": [rows[0]["id"]]})
    assert answer["errors"][0]["message"].startswith("This item is shared")


async def test_edits_converge_and_an_offline_box_catches_up(
    hub: Hub, api: ApiSession, org: str, fleet: Fleet
) -> None:
    """Edits in a row converge on the newest version; a box offline meanwhile gets it back."""
    brno = await fleet.add("brno")
    praha = await fleet.add("praha")
    group = (await api.post(path(org, rest="/groups"), OFFICE)).json
    await holds(praha, 1)

    praha.set_enabled(False)
    await sync_when(hub, api, org, lambda v: states(v)["praha"][0] == "offline")
    entries = path(org, rest=f"/groups/{group['id']}/entries")
    for n in range(3):  # three versions while one push may still be in flight
        added = await api.post(entries, {"type": "Host", "host": f"10.0.0.{n + 1}"})
        assert added.status == 201, added
    renamed = await api.request("PATCH", path(org, rest=f"/groups/{group['id']}"), {"name": "HQ"})
    assert renamed.status == 200, renamed

    await holds(brno, 5)
    assert shared_names(brno) == ["HQ"]
    praha.set_enabled(True)
    await holds(praha, 5)
    assert praha.definitions is not None
    assert brno.definitions is not None
    assert praha.definitions.shared(Kind.IP) == brno.definitions.shared(Kind.IP)
    view = await sync_when(hub, api, org, lambda v: set(states(v).values()) == {("in_sync", 5)})
    assert len(view["groups"][0]["entries"]) == 5

    history = (await api.get(path(org, rest="/history"))).json["versions"]
    assert [v["version"] for v in history] == [5, 4, 3, 2, 1]
    assert history[0]["change"] == 'renamed "Branch offices" to "HQ"'
    reverted = await api.post(path(org, rest="/revert"), {"version": 1})
    assert reverted.json == {"version": 6}
    await holds(brno, 6)
    assert shared_names(brno) == ["Branch offices"]
    activity = (await api.get(f"/api/v1/organizations/{org}/activity")).json
    actions = [e["action"] for e in activity["events"]]
    # (The fake clock stands still, so entries of one instant list in no particular order.)
    assert actions.count("definitions_reverted") == actions.count("definition_group_renamed") == 1
    assert actions.count("definition_changed") == 3


async def test_import_from_one_box_reaches_all_others(
    hub: Hub, api: ApiSession, org: str, fleet: Fleet
) -> None:
    """Import of a box's local URL group → shared, on every Control (the source adopts it);
    a name clash with a shared group is refused, naming it."""
    local = LocalDefinitions()
    local.add_local(
        Kind.URL,
        [
            {"name": "Ads", "entries": [{"type": "Url", "url": "*.ads.example.com/*"}]},
            {"name": "Mine", "entries": [{"type": "Url", "url": "^x+\\.com$", "isRegex": True}]},
        ],
    )
    source = await fleet.add("source", definitions=local)
    other = await fleet.add("other")
    urls = "url_groups"

    listed = await api.get(path(org, urls, f"/appliances/{fleet.ids['source']}/local"))
    assert [g["name"] for g in listed.json["groups"]] == ["Ads", "Mine"]
    imported = await api.post(
        path(org, urls, "/import"), {"appliance_id": fleet.ids["source"], "names": ["Ads"]}
    )

    assert imported.status == 201, imported
    await holds(other, 1, Kind.URL)
    await holds(source, 1, Kind.URL)
    assert shared_names(other, Kind.URL) == shared_names(source, Kind.URL) == ["Ads"]
    assert [g["name"] for g in local.local(Kind.URL)] == ["Mine"]  # adopted: no longer local
    again = await api.post(
        path(org, urls, "/import"), {"appliance_id": fleet.ids["other"], "names": ["Ads"]}
    )
    assert again.status == 400  # "other" has no local "Ads": only a shared one
    local.add_local(Kind.URL, [{"name": "ads", "entries": []}])
    clash = await api.post(
        path(org, urls, "/import"), {"appliance_id": fleet.ids["source"], "names": ["ads"]}
    )
    assert clash.status == 409, clash
    assert '"ads"' in clash.json["error"]["message"]


async def test_a_refused_apply_shows_as_failed_and_can_be_retried(
    hub: Hub, api: ApiSession, org: str, fleet: Fleet
) -> None:
    """A box that refuses to apply is failed with its error; a retry after it accepts syncs."""
    stubborn = LocalDefinitions(refuse_apply=True)
    await fleet.add("stubborn", definitions=stubborn)
    await api.post(
        path(org, "time_ranges", "/groups"),
        {
            "name": "Work",
            "entries": [
                {
                    "type": "TimeRangeDaily",
                    "days": ["Monday", "Friday"],
                    "fromTime": {"hour": 8, "min": 0},
                    "toTime": {"hour": 17, "min": 30},
                },
            ],
        },
    )

    failed = await sync_when(
        hub, api, org, lambda v: v["appliances"][0]["state"] == "failed", "time_ranges"
    )
    assert failed["appliances"][0]["error"] == f"definitions: {REFUSED}"
    assert failed["appliances"][0]["version"] == 0
    stubborn.refuse_apply = False
    retried = await api.post(path(org, "time_ranges", f"/appliances/{fleet.ids['stubborn']}/retry"))
    assert retried.status == 204, retried
    synced = await sync_when(
        hub, api, org, lambda v: v["appliances"][0]["state"] == "in_sync", "time_ranges"
    )
    assert synced["appliances"][0]["version"] == 1
    assert stubborn.shared(Kind.TIME)[0]["entries"][0]["days"] == ["Monday", "Friday"]


async def test_rules_are_named_and_other_organizations_see_nothing(
    hub: Hub, api: ApiSession, org: str, smtp_server: LoopbackSmtp
) -> None:
    """A broken rule is a 400 naming group, entry and rule; an outsider's calls answer 404."""
    bad = await api.post(
        path(org, rest="/groups"),
        {"name": "X", "entries": [{"type": "Range", "addr1": "10.0.0.9", "addr2": "10.0.0.1"}]},
    )
    assert bad.status == 400, bad
    assert bad.json["error"]["message"] == 'group "X", entry 1: Range: from must not be after to'
    wrong_field = await api.post(
        path(org, rest="/groups"), {"name": "Y", "entries": [{"type": "Url", "url": "a"}]}
    )
    assert wrong_field.status == 400
    group = (await api.post(path(org, rest="/groups"), OFFICE)).json
    assert (await api.get(path(org, "services"))).status == 404

    outsider = api_session(hub, user_agent="outsider")
    await member(outsider, smtp_server, "eve@evil.example", "Eve")
    assert (await outsider.get(path(org))).status == 404
    attempts = [
        await outsider.post(path(org, rest="/groups"), {"name": "Z"}),
        await outsider.request("DELETE", path(org, rest=f"/groups/{group['id']}")),
        await outsider.get(path(org, rest="/history")),
        await outsider.post(path(org, rest="/revert"), {"version": 1}),
    ]
    assert [r.status for r in attempts] == [404, 404, 404, 404]
    view = (await api.get(path(org))).json
    assert [g["name"] for g in view["groups"]] == ["Branch offices"]


async def test_a_version_1_link_may_not_speak_definitions(
    hub: Hub, api: ApiSession, org: str
) -> None:
    """Definitions messages on a link that did not negotiate the feature are
    `unexpected_message`, close 4000, answering the message."""
    appliance, _appliance_id = await paired(hub, api, org)
    report = Envelope.new("definitions_versions", {"versions": {IP: 0}})
    await appliance.send(report)

    refused = await appliance.receive()
    assert (refused.type, refused.re, refused.body["code"]) == (
        "error",
        report.id,
        "unexpected_message",
    )
    assert await appliance.closed() == 4000


async def test_an_open_page_hears_of_a_change_and_its_answers_in_one_live_message(
    hub: Hub, api: ApiSession, org: str, fleet: Fleet
) -> None:
    """A member's live socket gets `definitions` with the new version, then the answers of
    five Controls to it coalesced into one `definitions_sync` of that kind (not five)."""
    links = [await fleet.add(f"gw-{n}") for n in range(5)]
    await sync_when(  # every one has reported its versions (before the socket opens)
        hub, api, org, lambda v: {s for s, _ in states(v).values()} == {"in_sync"}
    )
    socket = await open_live(api, org=org)
    try:
        created = await api.post(path(org, rest="/groups"), OFFICE)
        assert created.status == 201, created
        for link in links:
            await holds(link, 1)
        messages: list[dict[str, Any]] = []
        async with asyncio.timeout(WAIT):
            while not any(m["type"] == "definitions_sync" for m in messages):
                messages.append(json.loads(await socket.read_message() or "{}"))
        with pytest.raises(TimeoutError):  # nothing more about the sync of that change
            async with asyncio.timeout(3 * live.SYNC_COALESCE_SECONDS):
                messages.append(json.loads(await socket.read_message() or "{}"))
        definitions = [m for m in messages if m["type"].startswith("definitions")]
        assert definitions == [
            {"type": "definitions", "kind": IP, "version": 1},
            {"type": "definitions_sync", "kind": IP},
        ]
    finally:
        socket.close()
