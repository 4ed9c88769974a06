"""The router: typed clients found by what an actor serves; ids that cannot exist start nothing;
organization events reach the bus as typed events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from actors.organization import OrganizationActor
from actors.router import OrganizationParts, Router
from actors.runtime import LoopRuntime
from actors.supervisor import Supervisor
from mykerio.accounts.context import Client, Links
from mykerio.bus import LocalBus
from mykerio.clock import FakeClock
from mykerio.errors import NotFound, Unavailable
from mykerio.mail.message import Email
from mykerio.organizations.events import MemberRemoved, OrganizationRenamed
from mykerio.store import Store
from tests.store.factories import make_organization, make_user

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
CLIENT = Client(ip="192.0.2.7", user_agent="test")


@pytest.fixture
async def router(store: Store) -> AsyncIterator[tuple[Router, Supervisor, LocalBus]]:
    supervisor = Supervisor(LoopRuntime(asyncio.get_running_loop()))
    bus = LocalBus()
    router = Router(supervisor, ask_timeout=2.0, accounts_shards=2)

    async def send_mail(email: Email) -> str:
        return "sent"

    router.serve_organizations(
        OrganizationParts(
            store=store,
            clock=FakeClock(T0),
            links=Links("https://hub.example"),
            send_mail=send_mail,
            bus=bus,
        )
    )
    yield router, supervisor, bus
    await supervisor.stop_all(2.0)


async def test_an_id_that_cannot_exist_is_not_found_and_starts_no_actor(
    router: tuple[Router, Supervisor, LocalBus],
) -> None:
    routes, supervisor, _ = router
    with pytest.raises(NotFound):
        routes.organization("../../etc")
    assert len(supervisor) == 0


async def test_an_organization_is_one_actor_started_on_first_use(
    router: tuple[Router, Supervisor, LocalBus], store: Store
) -> None:
    routes, supervisor, _ = router
    org = await store.organizations.add(make_organization("Acme"))
    ann = await store.users.add(make_user("ann@example.com"))
    await store.organizations.add_member(org.id, ann.id, T0)
    first, second = routes.organization(org.id), routes.organization(org.id)
    assert first.same_actor(second)
    assert len(supervisor) == 1
    view = await first.call(OrganizationActor.view, ann)
    assert (view.name, [m.email for m in view.members]) == ("Acme", ["ann@example.com"])


async def test_an_outsider_gets_not_found_from_an_existing_organization(
    router: tuple[Router, Supervisor, LocalBus], store: Store
) -> None:
    routes, _, _ = router
    org = await store.organizations.add(make_organization("Acme"))
    outsider = await store.users.add(make_user("eve@example.com"))
    with pytest.raises(NotFound):
        await routes.organization(org.id).call(OrganizationActor.view, outsider)


async def test_changes_are_published_as_typed_events(
    router: tuple[Router, Supervisor, LocalBus], store: Store
) -> None:
    routes, _, bus = router
    org = await store.organizations.add(make_organization("Acme"))
    ann = await store.users.add(make_user("ann@example.com"))
    bob = await store.users.add(make_user("bob@example.com"))
    for person in (ann, bob):
        await store.organizations.add_member(org.id, person.id, T0)
    seen: list[object] = []
    bus.subscribe(OrganizationRenamed, seen.append)
    bus.subscribe(MemberRemoved, seen.append)
    organization = routes.organization(org.id)
    await organization.call(OrganizationActor.rename, ann, "Acme Ltd", CLIENT)
    await organization.call(OrganizationActor.remove, ann, bob.id, CLIENT)
    members = tuple(sorted((ann.id, bob.id)))
    renamed, removed = seen
    assert isinstance(renamed, OrganizationRenamed)
    assert (renamed.org_id, tuple(sorted(renamed.user_ids)), renamed.name) == (
        org.id,
        members,
        "Acme Ltd",
    )
    assert removed == MemberRemoved(org.id, (bob.id,))


async def test_actors_not_running_are_unavailable_or_absent(
    router: tuple[Router, Supervisor, LocalBus],
) -> None:
    routes, _, _ = router
    with pytest.raises(Unavailable):
        routes.accounts("ann@example.com")
    with pytest.raises(Unavailable):
        routes.mailer()
    assert routes.appliance("a1") is None
    assert routes.health() is None
