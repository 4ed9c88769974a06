"""The shared definitions contract: one version history per organization and kind.

Runs against SQLite and MongoDB.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from mykerio.errors import Conflict, InvalidInput
from mykerio.models import DefinitionVersion, definition_version_id
from mykerio.store import Store
from tests.store.factories import T0


def version(n: int, *, org_id: str = "o1", kind: str = "ip_address_groups") -> DefinitionVersion:
    """Version `n` of one kind, saved `n` seconds after T0."""
    return DefinitionVersion(
        id=definition_version_id(org_id, kind, n),
        org_id=org_id,
        kind=kind,
        version=n,
        at=T0 + timedelta(seconds=n),
        actor_email="ann@example.com",
        change=f"change {n}",
        groups=f'[{{"id":"g{n}","name":"G{n}","entries":[]}}]',
    )


async def test_versions_round_trip_and_the_newest_is_current(store: Store) -> None:
    """Each version comes back as saved; `current` is the newest, per kind and organization."""
    assert await store.definitions.current("o1", "ip_address_groups") is None
    for n in (1, 2, 3):
        await store.definitions.add(version(n), keep=10)
    await store.definitions.add(version(1, kind="url_groups"), keep=10)
    await store.definitions.add(version(7, org_id="o2"), keep=10)

    assert await store.definitions.current("o1", "ip_address_groups") == version(3)
    assert await store.definitions.current("o1", "url_groups") == version(1, kind="url_groups")
    assert await store.definitions.version("o1", "ip_address_groups", 2) == version(2)
    assert await store.definitions.version("o1", "ip_address_groups", 9) is None
    assert await store.definitions.history("o1", "ip_address_groups", 2) == [version(3), version(2)]


async def test_a_version_is_saved_once(store: Store) -> None:
    """A second save of one version is refused, also when both race."""
    await store.definitions.add(version(1), keep=10)
    with pytest.raises(Conflict):
        await store.definitions.add(version(1), keep=10)

    results = await asyncio.gather(
        *(store.definitions.add(version(2), keep=10) for _ in range(4)), return_exceptions=True
    )

    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if r is not None)


async def test_only_the_newest_are_kept(store: Store) -> None:
    """After each save only the `keep` newest versions of that kind stay; numbers go on."""
    for n in range(1, 6):
        await store.definitions.add(version(n), keep=2)
    await store.definitions.add(version(1, kind="time_ranges"), keep=2)

    history = await store.definitions.history("o1", "ip_address_groups", 10)

    assert [v.version for v in history] == [5, 4]
    assert await store.definitions.version("o1", "time_ranges", 1) is not None
    with pytest.raises(InvalidInput):
        await store.definitions.history("o1", "ip_address_groups", 0)


async def test_deleting_an_organization_deletes_its_definitions(store: Store) -> None:
    """Every kind's versions of the organization go; another organization's stay."""
    await store.definitions.add(version(1), keep=10)
    await store.definitions.add(version(1, kind="url_groups"), keep=10)
    await store.definitions.add(version(1, org_id="o2"), keep=10)

    assert await store.definitions.delete_organization("o1") == 2
    assert await store.definitions.current("o1", "url_groups") is None
    assert await store.definitions.current("o2", "ip_address_groups") == version(1, org_id="o2")
