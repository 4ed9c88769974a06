"""The organization's shared definitions part: pushes, convergence, idempotence, failures.

Driven message by message: a real OrganizationActor and a real ApplianceActor whose link
records what the hub sends; the test plays the appliance's answers in the order it chooses.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actors.appliance import ApplianceActor
from actors.clients import ActorClient
from actors.organization import OrganizationActor, definitions
from actors.runtime import LoopRuntime, stop
from mykerio.accounts.context import Client, Links
from mykerio.bus import LocalBus
from mykerio.clock import FakeClock
from mykerio.definitions.events import DefinitionsSyncChanged
from mykerio.definitions.model import IpEntry, Kind
from mykerio.errors import Unavailable
from mykerio.models import User
from mykerio.protocol.envelope import Envelope
from mykerio.store import Store
from tests.actors.test_appliance_actor import RecordingLink
from tests.store.factories import T0, make_appliance, make_organization, make_user

CLIENT = Client("192.0.2.1", "pytest")
HOST = IpEntry("Host", host="10.0.0.1")


@dataclasses.dataclass
class Setup:
    org: ActorClient[OrganizationActor]
    user: User
    link: RecordingLink
    appliance_id: str
    bus: LocalBus

    async def report(self, **versions: int) -> None:
        body = {"versions": {kind.value: versions.get(kind.name, 0) for kind in Kind}}
        await self.org.call(
            OrganizationActor.definitions_message,
            self.appliance_id,
            Envelope.new("definitions_versions", body),
        )

    async def answer(self, push: Envelope, version: int, ok: bool = True, **extra: Any) -> None:
        body = {"kind": push.body["kind"], "version": version, "ok": ok, **extra}
        await self.org.call(
            OrganizationActor.definitions_message,
            self.appliance_id,
            push.reply("definitions_applied", body),
        )

    def pushes(self) -> list[Envelope]:
        return [e for e in self.link.sent if e.type == "definitions"]

    async def state(self, kind: Kind = Kind.IP) -> tuple[str, int | None, str]:
        view = await self.org.call(OrganizationActor.definitions, self.user, kind)
        sync = view.appliances[0]
        return sync.state, sync.version, sync.error


@pytest.fixture
async def setup(store: Store) -> AsyncIterator[Setup]:
    """An organization with one member and one connected Kerio Control 9.4."""
    clock = FakeClock()
    runtime = LoopRuntime(asyncio.get_running_loop())
    org = await store.organizations.add(make_organization())
    user = await store.users.add(make_user())
    await store.organizations.add_member(org.id, user.id, T0)
    appliance = dataclasses.replace(make_appliance(org_id=org.id), connected=True)
    await store.appliances.add(appliance)
    link = RecordingLink(clock)
    actor = ApplianceActor.start(
        runtime=runtime,
        appliance=appliance,
        link=link,
        store=store,
        clock=clock,
        report=lambda view: None,
        removed_by_appliance=lambda org_id, appliance_id: None,
        schedule=clock.call_later,
    )
    client: ActorClient[ApplianceActor] = ActorClient(actor, 5.0)
    bus = LocalBus()
    org_ref = OrganizationActor.start(
        runtime=runtime,
        org_id=org.id,
        store=store,
        clock=clock,
        links=Links("https://hub.example"),
        send_mail=lambda email: asyncio.sleep(0),
        bus=bus,
        find_appliance=lambda appliance_id: client if appliance_id == appliance.id else None,
    )
    try:
        yield Setup(ActorClient(org_ref, 5.0), user, link, appliance.id, bus)
    finally:
        await stop(org_ref, timeout=5)
        await stop(actor, timeout=5)


async def test_a_change_in_flight_converges_on_the_newest(setup: Setup) -> None:
    """Two changes before any answer: both pushed at once; the older answer is recorded but
    the newest is still awaited; the appliance ends in sync at the newest version."""
    await setup.report()
    assert setup.pushes() == []  # nothing to send: both sides hold version 0
    group = await setup.org.call(
        OrganizationActor.create_group, setup.user, CLIENT, Kind.IP, "Servers"
    )
    await setup.org.call(OrganizationActor.add_entry, setup.user, CLIENT, Kind.IP, group.id, HOST)

    first, second = setup.pushes()
    assert (first.body["version"], second.body["version"]) == (1, 2)
    groups: Any = second.body["groups"]
    assert list(groups[0]["entries"]) == [
        {"type": "Host", "host": "10.0.0.1", "description": "", "enabled": True}
    ]
    await setup.answer(first, 1)
    assert await setup.state() == ("pending", 2, "")
    await setup.answer(second, 2)
    assert await setup.state() == ("in_sync", 2, "")
    assert len(setup.pushes()) == 2


async def test_pushes_are_idempotent_and_an_older_box_gets_the_newest(setup: Setup) -> None:
    """A box reporting what the hub has gets nothing; one reporting an older version gets the
    newest, and the answer to a superseded push does not end the wait for the newest."""
    await setup.org.call(OrganizationActor.create_group, setup.user, CLIENT, Kind.IP, "A")
    await setup.org.call(OrganizationActor.create_group, setup.user, CLIENT, Kind.IP, "B")
    await setup.report(IP=2)
    assert setup.pushes() == []
    assert await setup.state() == ("in_sync", 2, "")

    await setup.report(IP=1)  # it reconnected with an older version (restored a backup)
    (push,) = setup.pushes()
    assert push.body["version"] == 2
    await setup.report(IP=1)  # it reconnected again: a report starts over, one new push
    assert len(setup.pushes()) == 2
    newest = setup.pushes()[-1]
    await setup.answer(push, 1)  # the first, superseded push is answered with its old version
    assert len(setup.pushes()) == 2
    await setup.answer(newest, 2)
    assert await setup.state() == ("in_sync", 2, "")


async def test_a_refused_push_is_failed_until_a_retry_or_a_newer_version(setup: Setup) -> None:
    """A refusal shows with its errors and is not resent by itself; retry resends it."""
    await setup.report()
    await setup.org.call(OrganizationActor.create_group, setup.user, CLIENT, Kind.URL, "Ads")
    (push,) = setup.pushes()
    errors = [{"group": "Ads", "entry": 0, "message": "no space left"}]
    await setup.answer(push, 0, ok=False, errors=errors)

    assert await setup.state(Kind.URL) == ("failed", 0, 'group "Ads": no space left')
    await setup.report()  # (a reconnect reports again and clears the old state)
    assert len(setup.pushes()) == 2
    retry_push = setup.pushes()[-1]
    await setup.answer(retry_push, 0, ok=False, errors=errors)
    await setup.org.call(
        OrganizationActor.retry_definitions, setup.user, setup.appliance_id, Kind.URL
    )
    assert len(setup.pushes()) == 3
    await setup.answer(setup.pushes()[-1], 1)
    assert await setup.state(Kind.URL) == ("in_sync", 1, "")


async def test_an_unanswered_push_shows_as_failed(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push with no answer by its deadline is failed ("no answer"); an answer after that,
    or to a superseded push, changes nothing it should not."""
    monkeypatch.setattr(definitions, "PUSH_ANSWER_SECONDS", 0.01)
    await setup.report()
    synced = asyncio.Event()
    subscription = setup.bus.subscribe(DefinitionsSyncChanged, lambda _event: synced.set())
    await setup.org.call(OrganizationActor.create_group, setup.user, CLIENT, Kind.IP, "Quiet")
    async with asyncio.timeout(5):
        await synced.wait()
    subscription.cancel()

    assert await setup.state() == ("failed", 0, definitions.NO_ANSWER)


async def test_an_import_gets_the_local_groups_or_times_out(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`request_import` sends `import_request` and its future settles with the groups the
    appliance answers; with no answer by the deadline it is `Unavailable`."""
    await setup.report()
    future = await setup.org.call(
        OrganizationActor.request_import, setup.user, setup.appliance_id, Kind.URL
    )
    (asked,) = [e for e in setup.link.sent if e.type == "import_request"]
    groups: Any = [{"name": "Ads", "entries": [{"type": "Url", "url": "ads.example"}]}]
    await setup.org.call(
        OrganizationActor.definitions_message,
        setup.appliance_id,
        asked.reply("import_result", {"kind": "url_groups", "groups": groups}),
    )
    (group,) = await future
    assert group.name == "Ads"

    monkeypatch.setattr(definitions, "IMPORT_TIMEOUT", 0.01)
    silent = await setup.org.call(
        OrganizationActor.request_import, setup.user, setup.appliance_id, Kind.URL
    )
    with pytest.raises(Unavailable):
        async with asyncio.timeout(5):
            await silent
