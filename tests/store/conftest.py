"""Fixtures for the store contract: a store of each kind, in a fresh place for every test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from mykerio.store import Store, open_store

Operations = list[tuple[str, float]]


def _with_database(server_uri: str, database: str) -> str:
    """`server_uri` with its path set to `database`, keeping any `?options`."""
    address, _, options = server_uri.partition("?")
    scheme, _, hosts = address.partition("://")
    hosts = hosts.split("/", 1)[0]
    return f"{scheme}://{hosts}/{database}" + (f"?{options}" if options else "")


@pytest.fixture
async def mongo_store_uri(mongo_server_uri: str) -> AsyncIterator[str]:
    """The URI of an empty database on the MongoDB-wire server, dropped afterwards."""
    database = f"test_{uuid.uuid4().hex}"
    yield _with_database(mongo_server_uri, database)
    # Tidy up for a shared server given through MYKERIO_TEST_MONGO_URI.
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_server_uri)
    try:
        await client.drop_database(database)
    finally:
        await client.close()


@pytest.fixture(params=["sqlite", "mongodb"])
def store_uri(request: pytest.FixtureRequest) -> str:
    """The URI of an empty store of each kind; SQLite's lives in the test's `tmp_path`."""
    if request.param == "sqlite":
        return ""
    uri: str = request.getfixturevalue("mongo_store_uri")
    return uri


@pytest.fixture
def operations() -> Operations:
    """Every (operation name, seconds) the `store` fixture's observer was called with."""
    return []


@pytest.fixture
async def store(store_uri: str, tmp_path: Path, operations: Operations) -> AsyncIterator[Store]:
    """An open, empty store at `store_uri` whose observer records into `operations`."""

    def observe(operation: str, seconds: float) -> None:
        operations.append((operation, seconds))

    opened = await open_store(store_uri, tmp_path, on_operation=observe)
    yield opened
    await opened.close()
