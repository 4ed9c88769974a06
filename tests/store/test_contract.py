"""The store contract: every test runs against SQLite and MongoDB (except the SQLite-only ones).

Tests `mykerio.store` through its protocols only, so both adapters promise the same behaviour.
This file holds the shared rules and the first users and backups tests; every other domain has
its own `test_store_<domain>.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import get_type_hints

import pytest

from mykerio.errors import ConfigError, Conflict, InvalidInput, NotFound, Unavailable
from mykerio.store import SQLITE_FILENAME, Store, open_store
from mykerio.store.sqlite.connection import SqliteDatabase
from mykerio.store.sqlite.migrations import LATEST_VERSION, MIGRATIONS
from mykerio.store.values import to_millis
from tests.store.factories import (
    KEY,
    T0,
    make_appliance,
    make_backup,
    make_user,
    records_of,
    store_backup,
)


async def test_duplicate_email_conflicts_and_keeps_first(store: Store) -> None:
    """A second user with the same email, also in other letter case, is refused untouched."""
    first = await store.users.add(make_user("Ann@Example.com"))

    for email in ("Ann@Example.com", "ann@EXAMPLE.com"):
        with pytest.raises(Conflict):
            await store.users.add(make_user(email))

    assert await store.users.by_email("ANN@example.COM") == first
    assert await store.users.by_id(first.id) == first


async def test_duplicate_user_id_conflicts(store: Store) -> None:
    """A second user with an existing id is refused."""
    first = await store.users.add(make_user("ann@example.com"))

    with pytest.raises(Conflict):
        await store.users.add(dataclasses.replace(first, email="bob@example.com"))


async def test_datetimes_come_back_utc_truncated_to_milliseconds(store: Store) -> None:
    """Datetimes in any timezone come back as `datetime.UTC` at millisecond precision."""
    plus_two = timezone(timedelta(hours=2))
    moment = datetime(2026, 3, 4, 7, 6, 7, 123456, tzinfo=plus_two)
    expected = datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=UTC)

    added = await store.users.add(make_user(created_at=moment))
    found = await store.users.by_id(added.id)
    appliance = await store.appliances.add(make_appliance())
    seen = await store.appliances.set_state(
        appliance.id,
        status="green",
        reasons=(),
        pending=0,
        connected=True,
        ip="192.0.2.9",
        at=moment,
    )
    await store_backup(store, make_backup("a1", moment))
    [backup] = await store.backups.newest("a1", 5)

    assert found is not None
    for value in (added.created_at, found.created_at, seen.last_seen, backup.stored_at):
        assert value == expected
        assert value is not None
        assert value.tzinfo is UTC
        assert value.microsecond == 123000


async def test_naive_datetime_is_rejected(store: Store) -> None:
    """Every operation taking a datetime refuses a naive one with `InvalidInput`."""
    naive = datetime(2026, 1, 1)
    appliance = await store.appliances.add(make_appliance())

    with pytest.raises(InvalidInput):
        await store.users.add(make_user(created_at=naive))
    with pytest.raises(InvalidInput):
        await store.appliances.add(dataclasses.replace(make_appliance(b"k2"), last_seen=naive))
    with pytest.raises(InvalidInput):
        await store.appliances.set_state(
            appliance.id,
            status="red",
            reasons=("Offline",),
            pending=0,
            connected=False,
            ip="192.0.2.1",
            at=naive,
        )
    with pytest.raises(InvalidInput):
        await store_backup(store, make_backup("a1", naive))

    assert await store.users.by_email("ann@example.com") is None
    assert await store.backups.newest("a1", 5) == []


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\xff" * 1000, os.urandom(1024 * 1024)],
    ids=["empty", "non-utf8", "1MiB-random"],
)
async def test_bytes_round_trip(store: Store, content: bytes) -> None:
    """Backup contents and public keys come back byte for byte."""
    appliance = await store.appliances.add(make_appliance(public_key=content[:64] + b"\x80"))
    backup = make_backup(appliance.id, T0, content)

    await store_backup(store, backup, [content, b"\x00"])

    assert await records_of(store, backup.id) == [content, b"\x00"]
    assert await store.backups.newest(appliance.id, 1) == [backup]
    found = await store.appliances.by_id(appliance.id)
    assert found is not None
    assert found.public_key == content[:64] + b"\x80"


async def test_missing_things_are_none_empty_or_not_found(store: Store) -> None:
    """Looking up what does not exist answers `None`, `[]` or `NotFound`."""
    assert await store.users.by_email("nobody@example.com") is None
    assert await store.users.by_id("missing") is None
    assert await store.appliances.by_id("missing") is None
    assert await store.backups.newest("missing", 5) == []
    with pytest.raises(NotFound):
        await store.appliances.rename("missing", "Office firewall")
    with pytest.raises(NotFound):
        await store.backups.get("missing")


async def test_counts_below_one_are_invalid(store: Store) -> None:
    """`keep` and `limit` below 1 raise `InvalidInput` and store nothing."""
    with pytest.raises(InvalidInput):
        await store_backup(store, make_backup("a1", T0), keep=0)
    with pytest.raises(InvalidInput):
        await store.backups.newest("a1", 0)

    assert await store.backups.newest("a1", 5) == []


async def test_observer_hears_every_operation(
    store: Store, operations: list[tuple[str, float]]
) -> None:
    """The observer gets each operation's name and duration, failed operations included."""
    user = await store.users.add(make_user())
    with pytest.raises(Conflict):
        await store.users.add(user)
    await store.users.by_email(user.email)
    await store.appliances.by_public_key(KEY)
    await store.pairings.peek("code-hash", T0)
    await store.status_history.for_appliance("a1", limit=5)
    await store.backups.newest("a1", 5)

    assert [name for name, _ in operations] == [
        "users.add",
        "users.add",
        "users.by_email",
        "appliances.by_public_key",
        "pairings.peek",
        "status_history.for_appliance",
        "backups.newest",
    ]
    assert all(seconds >= 0 for _, seconds in operations)


def _repository_protocols() -> dict[str, type]:
    """Each repository property of `Store` and the protocol it returns."""
    returns = {
        name: get_type_hints(value.fget)["return"]
        for name, value in vars(Store).items()
        if isinstance(value, property)
    }
    return {name: kind for name, kind in returns.items() if kind is not str}


async def test_every_repository_operation_is_observed(store: Store) -> None:
    """Each operation of each repository protocol is timed by `@observed` in the adapter."""
    for repository, protocol in _repository_protocols().items():
        implementation = type(getattr(store, repository))
        operations = [n for n, v in vars(protocol).items() if inspect.iscoroutinefunction(v)]
        assert operations, repository
        for name in operations:
            method = getattr(implementation, name)
            assert method.__code__.co_qualname == "observed.<locals>.timed", (repository, name)
            assert method.__wrapped__.__name__ == name


async def test_ping_answers_until_closed(store: Store) -> None:
    """`ping` returns while the store is open and raises `Unavailable` once it is closed."""
    await store.ping()
    assert store.kind in ("sqlite", "mongodb")

    await store.close()
    await store.close()

    with pytest.raises(Unavailable):
        await store.ping()


async def test_reopening_keeps_data_and_unique_rules(
    store: Store, store_uri: str, tmp_path: Path
) -> None:
    """A second open of the same store sees the data, and its unique rules still hold."""
    user = await store.users.add(make_user())

    again = await open_store(store_uri, tmp_path)
    try:
        assert await again.users.by_email(user.email) == user
        with pytest.raises(Conflict):
            await again.users.add(make_user(user.email.upper()))
    finally:
        await again.close()


async def test_unknown_uri_scheme_is_a_config_error(tmp_path: Path) -> None:
    """A store URI that is neither empty nor MongoDB fails with `ConfigError`."""
    with pytest.raises(ConfigError, match="postgres"):
        await open_store("postgres://user:secret@db/hub", tmp_path)


async def test_sqlite_reopen_keeps_data_and_migrates_once(tmp_path: Path) -> None:
    """Re-opening a SQLite file keeps its data and applies no migration again."""
    first = await open_store("", tmp_path)
    user = await first.users.add(make_user())
    await first.close()

    # Migration 1 creates tables without IF NOT EXISTS, so running it again would fail here.
    second = await open_store("", tmp_path)
    try:
        assert await second.users.by_id(user.id) == user
    finally:
        await second.close()

    with sqlite3.connect(tmp_path / SQLITE_FILENAME) as connection:
        versions = connection.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    connection.close()
    assert versions == [(v,) for v in range(1, LATEST_VERSION + 1)]


async def test_sqlite_version_1_file_is_upgraded_with_its_users(tmp_path: Path) -> None:
    """A file at schema version 1 is migrated; its users read with the account defaults."""
    user = make_user()
    with sqlite3.connect(tmp_path / SQLITE_FILENAME) as connection:
        connection.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
        for statement in MIGRATIONS[0]:
            connection.execute(statement)
        connection.execute("INSERT INTO schema_version VALUES (1)")
        connection.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (user.id, user.email, user.email, user.full_name, user.password_hash, to_millis(T0)),
        )
    connection.close()

    store = await open_store("", tmp_path)
    try:
        assert await store.users.by_id(user.id) == user
        await store.users.set_backup_codes(user.id, ("code-hash",))
        assert await store.users.use_backup_code(user.id, "code-hash")
    finally:
        await store.close()


async def test_sqlite_calls_run_on_one_worker_thread(tmp_path: Path) -> None:
    """Every SQLite call runs on the same thread, which is not the event loop's."""
    database = await SqliteDatabase.open(tmp_path / "threads.sqlite3")
    try:
        threads = await asyncio.gather(
            *(database.run(lambda _: threading.get_ident()) for _ in range(10))
        )
    finally:
        await database.close()

    assert len(set(threads)) == 1
    assert threads[0] != threading.get_ident()


async def test_sqlite_newer_schema_refuses_to_open(tmp_path: Path) -> None:
    """A SQLite file from a newer hub version fails to open with `ConfigError`."""
    await (await open_store("", tmp_path)).close()
    with sqlite3.connect(tmp_path / SQLITE_FILENAME) as connection:
        connection.execute("INSERT INTO schema_version VALUES (?)", (LATEST_VERSION + 1,))
    connection.close()

    with pytest.raises(ConfigError, match="newer"):
        await open_store("", tmp_path)
