"""Indexes of the MongoDB store, and what breaking a unique one means: `Conflict`.

Indexes are created at every open; `create_index` does nothing when the index exists. Only
plain single and compound indexes are used, which every MongoDB-wire server we test against
(FerretDB 1.24 included) supports: no TTL, no partial indexes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from mykerio.errors import Conflict

Document = dict[str, Any]

BACKUPS_NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]
"""The order of `backups` from newest to oldest; ties broken by the greater id."""


async def ensure_indexes(database: AsyncDatabase[Document]) -> None:
    """Create the store's indexes if they are missing."""
    await database.users.create_index("email_lower", unique=True, name="email_lower_unique")
    await database.appliances.create_index("public_key", unique=True, name="public_key_unique")
    await database.backups.create_index(
        [("appliance_id", ASCENDING), *BACKUPS_NEWEST_FIRST], name="backups_newest"
    )


@contextmanager
def duplicates_conflict(what: str) -> Iterator[None]:
    """Turn a violated unique index (or duplicate `_id`) inside the block into `Conflict`."""
    try:
        yield
    except DuplicateKeyError as error:
        raise Conflict(f"{what} already exists") from error
