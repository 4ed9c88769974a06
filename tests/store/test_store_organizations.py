"""The organizations contract: organizations, memberships, and deleting both together.

Runs against SQLite and MongoDB.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta

import pytest

from mykerio.errors import Conflict, InvalidInput, NotFound
from mykerio.models import Membership
from mykerio.store import Store
from tests.store.factories import T0, make_organization


async def test_add_by_id_and_rename(store: Store) -> None:
    """An organization comes back as added, and renaming returns and stores the new name."""
    added = await store.organizations.add(make_organization("acme.example"))
    assert await store.organizations.by_id(added.id) == added

    renamed = await store.organizations.rename(added.id, "Acme Corp")

    assert renamed == dataclasses.replace(added, name="Acme Corp")
    assert await store.organizations.by_id(added.id) == renamed


async def test_names_may_repeat_but_ids_may_not(store: Store) -> None:
    """Two organizations may share a name; a second one with an existing id is refused."""
    first = await store.organizations.add(make_organization("acme.example"))
    second = await store.organizations.add(make_organization("acme.example"))

    with pytest.raises(Conflict):
        await store.organizations.add(dataclasses.replace(first, name="other"))

    assert first.id != second.id
    assert await store.organizations.by_id(first.id) == first


async def test_members_are_added_listed_and_removed(store: Store) -> None:
    """Members are listed longest-standing first, checked one by one, and removed once."""
    org = await store.organizations.add(make_organization())
    later = T0 + timedelta(hours=1)
    bob = await store.organizations.add_member(org.id, "bob", later)
    ann = await store.organizations.add_member(org.id, "ann", T0)
    cid = await store.organizations.add_member(org.id, "cid", later)

    assert bob == Membership(org_id=org.id, user_id="bob", joined_at=later)
    assert await store.organizations.members(org.id) == [ann, bob, cid]
    assert await store.organizations.is_member(org.id, "bob")
    assert not await store.organizations.is_member(org.id, "dan")

    assert await store.organizations.remove_member(org.id, "bob")
    assert not await store.organizations.remove_member(org.id, "bob")
    assert not await store.organizations.is_member(org.id, "bob")
    assert await store.organizations.members(org.id) == [ann, cid]


async def test_second_membership_conflicts(store: Store) -> None:
    """Adding a member twice raises `Conflict` and keeps the first membership."""
    org = await store.organizations.add(make_organization())
    first = await store.organizations.add_member(org.id, "ann", T0)

    with pytest.raises(Conflict):
        await store.organizations.add_member(org.id, "ann", T0 + timedelta(days=1))

    assert await store.organizations.members(org.id) == [first]


async def test_twenty_concurrent_joins_make_one_membership(store: Store) -> None:
    """Of twenty simultaneous adds of one member one succeeds and the rest conflict."""
    org = await store.organizations.add(make_organization())

    outcomes = await asyncio.gather(
        *(store.organizations.add_member(org.id, "ann", T0) for _ in range(20)),
        return_exceptions=True,
    )

    assert sum(isinstance(outcome, Membership) for outcome in outcomes) == 1
    assert sum(isinstance(outcome, Conflict) for outcome in outcomes) == 19
    assert len(await store.organizations.members(org.id)) == 1


async def test_count_members_follows_joins_and_departures(store: Store) -> None:
    """The member count grows with each join, shrinks with each removal, and is 0 for unknown."""
    org = await store.organizations.add(make_organization())
    other = await store.organizations.add(make_organization())
    await store.organizations.add_member(other.id, "zed", T0)
    assert await store.organizations.count_members(org.id) == 0

    for user_id in ("ann", "bob", "cid"):
        await store.organizations.add_member(org.id, user_id, T0)
    assert await store.organizations.count_members(org.id) == 3

    await store.organizations.remove_member(org.id, "bob")
    assert await store.organizations.count_members(org.id) == 2
    assert await store.organizations.count_members(other.id) == 1
    await store.organizations.delete(org.id)
    assert await store.organizations.count_members(org.id) == 0
    assert await store.organizations.count_members("missing") == 0


async def test_of_user_lists_own_organizations_by_name(store: Store) -> None:
    """A user's organizations come sorted by name then id, and only theirs."""
    zeta = await store.organizations.add(make_organization("zeta.example"))
    alpha = await store.organizations.add(make_organization("alpha.example"))
    twins = sorted(
        [await store.organizations.add(make_organization("mid.example")) for _ in range(2)],
        key=lambda org: org.id,
    )
    foreign = await store.organizations.add(make_organization("aaa.example"))
    for org in (zeta, alpha, *twins):
        await store.organizations.add_member(org.id, "ann", T0)
    await store.organizations.add_member(foreign.id, "bob", T0)

    assert await store.organizations.of_user("ann") == [alpha, *twins, zeta]
    assert await store.organizations.of_user("bob") == [foreign]
    assert await store.organizations.of_user("nobody") == []


async def test_delete_takes_the_memberships_along(store: Store) -> None:
    """Deleting an organization deletes its memberships and leaves other organizations alone."""
    doomed = await store.organizations.add(make_organization("doomed.example"))
    kept = await store.organizations.add(make_organization("kept.example"))
    for org in (doomed, kept):
        await store.organizations.add_member(org.id, "ann", T0)
    await store.organizations.add_member(doomed.id, "bob", T0)

    await store.organizations.delete(doomed.id)

    assert await store.organizations.by_id(doomed.id) is None
    assert await store.organizations.members(doomed.id) == []
    assert not await store.organizations.is_member(doomed.id, "ann")
    assert await store.organizations.of_user("ann") == [kept]
    assert await store.organizations.of_user("bob") == []
    # A new organization with the old id starts with nobody in it.
    await store.organizations.add(doomed)
    assert await store.organizations.members(doomed.id) == []


async def test_unknown_organization_raises_not_found(store: Store) -> None:
    """Renaming, deleting or joining an unknown organization raises `NotFound`."""
    with pytest.raises(NotFound):
        await store.organizations.rename("missing", "new name")
    with pytest.raises(NotFound):
        await store.organizations.delete("missing")
    with pytest.raises(NotFound):
        await store.organizations.add_member("missing", "ann", T0)

    assert await store.organizations.by_id("missing") is None
    assert await store.organizations.members("missing") == []
    assert not await store.organizations.remove_member("missing", "ann")
    assert not await store.organizations.is_member("missing", "ann")


async def test_naive_datetimes_are_refused(store: Store) -> None:
    """An organization or membership with a naive datetime raises `InvalidInput`."""
    org = await store.organizations.add(make_organization())

    with pytest.raises(InvalidInput):
        await store.organizations.add(make_organization(created_at=datetime(2026, 1, 1)))
    with pytest.raises(InvalidInput):
        await store.organizations.add_member(org.id, "ann", datetime(2026, 1, 1))

    assert await store.organizations.members(org.id) == []
