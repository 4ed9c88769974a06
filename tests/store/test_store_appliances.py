"""The appliances contract: unique keys and serials, boxes reserved by serial, state, ordering,
and removal that revokes the key.

Runs against SQLite and MongoDB; the last tests are for one adapter's upgrade or repair path.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from mykerio.errors import Conflict, InvalidInput, NotFound
from mykerio.models import Appliance
from mykerio.store import SQLITE_FILENAME, Store, open_store
from mykerio.store.sqlite.migrations import MIGRATIONS
from mykerio.store.values import to_millis
from tests.store.factories import (
    KEY,
    SERIAL,
    T0,
    make_appliance,
    make_backup,
    make_reserved,
    store_backup,
)

OTHER_KEY = b"\x01other-key\x80"
MINUTE = timedelta(minutes=1)


async def attach(store: Store, appliance_id: str, public_key: bytes = KEY) -> Appliance:
    """Attach `public_key` to the appliance as a Kerio Control 9.5 connecting at `T0 + 1 min`."""
    return await store.appliances.attach_key(
        appliance_id,
        public_key,
        product="control",
        version="9.5.0",
        ip="192.0.2.77",
        at=T0 + MINUTE,
    )


async def test_add_round_trips_every_field(store: Store) -> None:
    """An appliance comes back as added by id, by key and by serial."""
    appliance = dataclasses.replace(
        make_appliance(),
        serial=SERIAL,
        status="yellow",
        status_reasons=("Low memory", "Update available"),
        pending_notifications=2,
        last_seen=T0 + MINUTE,
        connected=True,
    )

    assert await store.appliances.add(appliance) == appliance

    assert await store.appliances.by_id(appliance.id) == appliance
    assert await store.appliances.by_public_key(KEY) == appliance
    assert await store.appliances.by_serial(SERIAL) == appliance


async def test_duplicate_id_key_or_serial_conflicts_and_stores_nothing(store: Store) -> None:
    """A second appliance with a taken id, key or serial is refused and takes nothing."""
    first = await store.appliances.add(dataclasses.replace(make_appliance(), serial=SERIAL))

    with pytest.raises(Conflict):
        await store.appliances.add(dataclasses.replace(first, public_key=OTHER_KEY, serial=""))
    with pytest.raises(Conflict):
        await store.appliances.add(dataclasses.replace(make_appliance(), serial="SRLNMR999999"))
    with pytest.raises(Conflict):
        await store.appliances.add(dataclasses.replace(make_appliance(OTHER_KEY), serial=SERIAL))

    assert await store.appliances.in_org("org1") == [first]
    # The refused appliances' other key and serial were not kept taken.
    later = await store.appliances.add(
        dataclasses.replace(make_appliance(OTHER_KEY), serial="SRLNMR999999")
    )
    assert await store.appliances.by_serial("SRLNMR999999") == later


async def test_many_appliances_have_no_key_or_no_serial(store: Store) -> None:
    """Reserved boxes without keys, and appliances without serials, are not duplicates."""
    reserved = [await store.appliances.add(make_reserved(f"SRLNMR00000{i}")) for i in range(3)]
    keyed = [await store.appliances.add(make_appliance(bytes([i]) * 32)) for i in range(3)]

    assert await store.appliances.count_in_org("org1") == 6
    assert await store.appliances.by_serial("") is None
    assert await store.appliances.by_serial("SRLNMR000001") == reserved[1]
    assert await store.appliances.by_public_key(bytes([2]) * 32) == keyed[2]


async def test_concurrent_adds_of_one_key_or_serial_let_one_win(store: Store) -> None:
    """Of twenty simultaneous adds with one key, and of twenty with one serial, one wins each."""
    by_key = [make_appliance() for _ in range(20)]
    by_serial = [make_reserved() for _ in range(20)]

    outcomes = await asyncio.gather(
        *(store.appliances.add(appliance) for appliance in by_key + by_serial),
        return_exceptions=True,
    )

    stored = [outcome for outcome in outcomes if isinstance(outcome, Appliance)]
    assert all(isinstance(o, Conflict) for o in outcomes if not isinstance(o, Appliance))
    assert len([appliance for appliance in stored if appliance.public_key == KEY]) == 1
    assert len([appliance for appliance in stored if appliance.serial == SERIAL]) == 1
    assert sorted(a.id for a in await store.appliances.in_org("org1")) == sorted(
        a.id for a in stored
    )


async def test_removed_appliance_frees_its_serial(store: Store) -> None:
    """Once a reserved box is removed its serial can be reserved again."""
    first = await store.appliances.add(make_reserved())

    assert await store.appliances.remove(first.id) == first

    assert await store.appliances.by_serial(SERIAL) is None
    again = await store.appliances.add(make_reserved(org_id="org2"))
    assert await store.appliances.by_serial(SERIAL) == again


async def test_attach_key_gives_a_reserved_box_its_key(store: Store) -> None:
    """A reserved box gets the key it connects with, and attaching it again only updates."""
    reserved = await store.appliances.add(make_reserved())

    attached = await attach(store, reserved.id)

    assert attached == dataclasses.replace(
        reserved, public_key=KEY, version="9.5.0", ip="192.0.2.77", last_seen=T0 + MINUTE
    )
    assert await store.appliances.by_public_key(KEY) == attached
    assert await store.appliances.by_serial(SERIAL) == attached
    again = await store.appliances.attach_key(
        reserved.id, KEY, product="control", version="9.6.0", ip="192.0.2.78", at=T0 + 2 * MINUTE
    )
    assert again == dataclasses.replace(
        attached, version="9.6.0", ip="192.0.2.78", last_seen=T0 + 2 * MINUTE
    )


async def test_attach_key_refuses_a_taken_key_or_a_second_key(store: Store) -> None:
    """Attaching another appliance's key, or a second key, is refused and changes nothing."""
    keyed = await store.appliances.add(make_appliance())
    reserved = await store.appliances.add(make_reserved())

    with pytest.raises(Conflict):
        await attach(store, reserved.id, KEY)
    with pytest.raises(Conflict):
        await attach(store, keyed.id, OTHER_KEY)

    assert await store.appliances.by_id(reserved.id) == reserved
    assert await store.appliances.by_id(keyed.id) == keyed
    assert await store.appliances.by_public_key(OTHER_KEY) is None
    # The key refused to `keyed` was not kept taken.
    assert (await attach(store, reserved.id, OTHER_KEY)).public_key == OTHER_KEY


async def test_remove_revokes_the_key_until_unrevoked(store: Store) -> None:
    """A removed appliance's key stays revoked, refused to add and attach, until unrevoked."""
    appliance = await store.appliances.add(make_appliance())
    reserved = await store.appliances.add(make_reserved())

    assert await store.appliances.remove(appliance.id) == appliance
    assert await store.appliances.remove(appliance.id) is None

    assert await store.appliances.by_id(appliance.id) is None
    assert await store.appliances.by_public_key(KEY) is None
    assert await store.appliances.is_revoked(KEY)
    with pytest.raises(Conflict):
        await store.appliances.add(make_appliance())
    with pytest.raises(Conflict):
        await attach(store, reserved.id, KEY)
    assert await store.appliances.by_id(reserved.id) == reserved

    assert await store.appliances.unrevoke(KEY)
    assert not await store.appliances.unrevoke(KEY)
    assert not await store.appliances.is_revoked(KEY)
    assert (await attach(store, reserved.id, KEY)).public_key == KEY


async def test_removing_a_reserved_box_revokes_nothing(store: Store) -> None:
    """A box removed before it ever connected has no key to revoke."""
    reserved = await store.appliances.add(make_reserved())

    assert await store.appliances.remove(reserved.id) == reserved

    assert not await store.appliances.is_revoked(KEY)
    assert await store.appliances.add(make_appliance()) is not None


async def test_concurrent_removes_return_the_appliance_once(store: Store) -> None:
    """Of twenty simultaneous removals of one appliance exactly one returns it."""
    appliance = await store.appliances.add(make_appliance())

    outcomes = await asyncio.gather(*(store.appliances.remove(appliance.id) for _ in range(20)))

    assert [outcome for outcome in outcomes if outcome is not None] == [appliance]
    assert await store.appliances.is_revoked(KEY)


async def test_remove_for_org_revokes_its_keys_and_keeps_backups(store: Store) -> None:
    """Removing an organization's appliances revokes their keys, frees their serials, and
    leaves other organizations and every backup alone.
    """
    mine = await store.appliances.add(make_appliance())
    reserved = await store.appliances.add(make_reserved())
    theirs = await store.appliances.add(make_appliance(OTHER_KEY, org_id="org2"))
    backup = make_backup(mine.id, T0)
    await store_backup(store, backup)

    assert await store.appliances.remove_for_org("org1") == 2
    assert await store.appliances.remove_for_org("org1") == 0

    assert await store.appliances.in_org("org1") == []
    assert await store.appliances.by_id(reserved.id) is None
    assert await store.appliances.is_revoked(KEY)
    assert not await store.appliances.is_revoked(OTHER_KEY)
    assert await store.appliances.in_org("org2") == [theirs]
    assert await store.backups.newest(mine.id, 5) == [backup]
    assert await store.appliances.add(make_reserved(org_id="org2")) is not None


async def test_in_org_orders_by_name_ignoring_case_then_id(store: Store) -> None:
    """An organization lists only its appliances, by case-folded name, ties by id."""
    names = ["beta", "Alpha", "STRASSE", "alpha", "Straße", "Zulu", "éclair"]
    added = [
        await store.appliances.add(make_appliance(bytes([i]) * 32, name=name))
        for i, name in enumerate(names)
    ]
    await store.appliances.add(make_appliance(b"other org", org_id="org2", name="Aardvark"))

    listed = await store.appliances.in_org("org1")

    by_name = {appliance.name: appliance for appliance in added}
    alphas = sorted([by_name["Alpha"], by_name["alpha"]], key=lambda a: a.id)
    strasses = sorted([by_name["STRASSE"], by_name["Straße"]], key=lambda a: a.id)
    assert listed == [*alphas, by_name["beta"], *strasses, by_name["Zulu"], by_name["éclair"]]
    assert await store.appliances.count_in_org("org1") == 7
    assert await store.appliances.count_in_org("org3") == 0
    assert await store.appliances.in_org("org3") == []


async def test_rename_and_set_state_change_only_their_fields(store: Store) -> None:
    """Rename sets the name; set_state sets the live state and, when connected, `last_seen`."""
    appliance = await store.appliances.add(make_appliance())

    renamed = await store.appliances.rename(appliance.id, "HQ firewall")
    online = await store.appliances.set_state(
        appliance.id,
        status="yellow",
        reasons=("Low memory",),
        pending=1,
        connected=True,
        ip="192.0.2.20",
        at=T0 + MINUTE,
    )
    offline = await store.appliances.set_state(
        appliance.id,
        status="red",
        reasons=("Offline",),
        pending=1,
        connected=False,
        ip="192.0.2.20",
        at=T0 + 2 * MINUTE,
    )

    assert renamed == dataclasses.replace(appliance, name="HQ firewall")
    assert online == dataclasses.replace(
        renamed,
        status="yellow",
        status_reasons=("Low memory",),
        pending_notifications=1,
        connected=True,
        ip="192.0.2.20",
        last_seen=T0 + MINUTE,
    )
    assert offline == dataclasses.replace(
        online, status="red", status_reasons=("Offline",), connected=False
    )
    assert await store.appliances.by_id(appliance.id) == offline


async def test_writes_to_an_unknown_appliance_raise_not_found(store: Store) -> None:
    """Renaming, setting the state of or attaching a key to an unknown appliance fails."""
    with pytest.raises(NotFound):
        await store.appliances.rename("missing", "name")
    with pytest.raises(NotFound):
        await store.appliances.set_state(
            "missing", status="red", reasons=(), pending=0, connected=False, ip="", at=T0
        )
    with pytest.raises(NotFound):
        await attach(store, "missing")

    assert await store.appliances.remove("missing") is None
    assert await store.appliances.by_public_key(KEY) is None
    assert await store.appliances.by_serial(SERIAL) is None


async def test_naive_datetimes_are_refused(store: Store) -> None:
    """Adding, attaching and setting the state with a naive datetime raise `InvalidInput`."""
    naive = datetime(2026, 1, 1)
    reserved = await store.appliances.add(make_reserved())

    with pytest.raises(InvalidInput):
        await store.appliances.add(dataclasses.replace(make_appliance(), created_at=naive))
    with pytest.raises(InvalidInput):
        await store.appliances.attach_key(
            reserved.id, KEY, product="control", version="9.5.0", ip="192.0.2.1", at=naive
        )

    assert await store.appliances.by_public_key(KEY) is None
    assert await store.appliances.by_id(reserved.id) == reserved


async def test_sqlite_version_3_appliances_are_upgraded(tmp_path: Path) -> None:
    """A SQLite file at schema version 3 keeps its appliances, read with the new defaults."""
    appliance = make_appliance()
    with sqlite3.connect(tmp_path / SQLITE_FILENAME) as connection:
        connection.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
        for version, migration in enumerate(MIGRATIONS[:3], start=1):
            for statement in migration:
                connection.execute(statement)
            connection.execute("INSERT INTO schema_version VALUES (?)", (version,))
        connection.execute(
            "INSERT INTO appliances VALUES (?, 'org1', 'control', '9.4.0', ?, ?, '192.0.2.10', "
            "'red', ?, NULL)",
            (appliance.id, appliance.name, KEY, to_millis(T0)),
        )
    connection.close()

    store = await open_store("", tmp_path)
    try:
        assert await store.appliances.by_public_key(KEY) == dataclasses.replace(
            appliance, status_reasons=()
        )
        assert await store.appliances.add(make_reserved()) is not None
        assert await store.appliances.add(make_reserved("SRLNMR000002")) is not None
    finally:
        await store.close()


async def test_mongo_appliances_from_before_are_upgraded(
    mongo_store_uri: str, tmp_path: Path
) -> None:
    """An older MongoDB store loses its unique key index, and its appliances read with the new
    defaults and keep their keys to themselves though they have no claims.
    """
    old = make_appliance()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_store_uri)
    try:
        appliances = client.get_default_database().appliances
        await appliances.create_index("public_key", unique=True, name="public_key_unique")
        await appliances.insert_one(
            {
                "_id": old.id,
                "org_id": old.org_id,
                "product": old.product,
                "version": old.version,
                "name": old.name,
                "public_key": KEY,
                "ip": old.ip,
                "status": old.status,
                "created_at": T0,
                "last_seen": None,
            }
        )
    finally:
        await client.close()

    store = await open_store(mongo_store_uri, tmp_path)
    try:
        assert await store.appliances.by_public_key(KEY) == dataclasses.replace(
            old, status_reasons=()
        )
        with pytest.raises(Conflict):
            await store.appliances.add(make_appliance())
        await store.appliances.add(make_reserved())
        await store.appliances.add(make_reserved("SRLNMR000002"))
        assert await store.appliances.count_in_org("org1") == 3
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("age", "taken_over"), [(timedelta(minutes=11), True), (timedelta(seconds=5), False)]
)
async def test_mongo_leftover_serial_claim_is_taken_over_once_stale(
    mongo_store_uri: str, tmp_path: Path, age: timedelta, taken_over: bool
) -> None:
    """A serial claimed by an appliance that never got stored frees up after 10 minutes."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_store_uri)
    store = await open_store(mongo_store_uri, tmp_path)
    try:
        claims = client.get_default_database().appliance_serials
        claimed_at = datetime.now(UTC) - age
        await claims.insert_one({"_id": SERIAL, "owner": "died", "claimed_at": claimed_at})

        if taken_over:
            reserved = await store.appliances.add(make_reserved())
            assert await store.appliances.by_serial(SERIAL) == reserved
        else:
            with pytest.raises(Conflict):
                await store.appliances.add(make_reserved())
            assert await store.appliances.by_serial(SERIAL) is None
    finally:
        await store.close()
        await client.close()
