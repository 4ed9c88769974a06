"""The store: repositories in domain terms, over embedded SQLite or MongoDB.

`open_store` picks the adapter from the configured URI; everything else is used through the
protocols in `mykerio.store.base`.
"""

from __future__ import annotations

from pathlib import Path

from mykerio.errors import ConfigError
from mykerio.store.base import (
    ActivityRepository,
    ApplianceRepository,
    AuditRepository,
    BackupRepository,
    InvitationRepository,
    LoginAttemptRepository,
    OperationObserver,
    OrganizationRepository,
    OutboxRepository,
    PairingRepository,
    SessionRepository,
    StatusHistoryRepository,
    Store,
    ThrottleRepository,
    TokenRepository,
    UserRepository,
)
from mykerio.store.mongo import open_mongo_store
from mykerio.store.sqlite import open_sqlite_store

__all__ = [
    "SQLITE_FILENAME",
    "ActivityRepository",
    "ApplianceRepository",
    "AuditRepository",
    "BackupRepository",
    "InvitationRepository",
    "LoginAttemptRepository",
    "OperationObserver",
    "OrganizationRepository",
    "OutboxRepository",
    "PairingRepository",
    "SessionRepository",
    "StatusHistoryRepository",
    "Store",
    "ThrottleRepository",
    "TokenRepository",
    "UserRepository",
    "open_store",
]

SQLITE_FILENAME = "mykerio.sqlite3"
"""The SQLite store's file inside the data directory."""

_MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")


async def open_store(
    uri: str, data_dir: Path, *, on_operation: OperationObserver | None = None
) -> Store:
    """Open the store that `uri` names, creating its schema and indexes if they are missing.

    An empty `uri` means SQLite in `data_dir / "mykerio.sqlite3"`; `mongodb://…` and
    `mongodb+srv://…` mean MongoDB, in the database the URI's path names (default `mykerio`).
    `on_operation` is called with each repository operation's name and duration in seconds.
    Raises `ConfigError` for any other URI or a database newer than this code.
    """
    if not uri:
        return await open_sqlite_store(data_dir / SQLITE_FILENAME, on_operation=on_operation)
    if uri.startswith(_MONGO_SCHEMES):
        return await open_mongo_store(uri, on_operation=on_operation)
    # Name only the scheme: the rest of a URI may hold a password.
    scheme = uri.split("://", 1)[0] if "://" in uri else "(none)"
    raise ConfigError(
        "the store URI must be empty (SQLite in the data directory) or start with mongodb:// "
        f"or mongodb+srv://; got scheme {scheme}"
    )
