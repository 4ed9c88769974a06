"""Versioned schema migrations for the SQLite store.

`MIGRATIONS[i]` takes the schema from version `i` to `i + 1`. The `schema_version` table holds
one row per applied version; each migration runs once, in its own transaction, together with
the row that records it. Append new migrations; never edit a published one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mykerio.errors import ConfigError
from mykerio.store.sqlite.connection import transaction

Migration = tuple[str, ...]
"""The SQL statements of one migration, run in order."""

MIGRATIONS: tuple[Migration, ...] = (
    (
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            email_lower TEXT NOT NULL UNIQUE,
            full_name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            confirmed_at INTEGER
        ) STRICT
        """,
        """
        CREATE TABLE appliances (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL,
            product TEXT NOT NULL,
            version TEXT NOT NULL,
            name TEXT NOT NULL,
            public_key BLOB NOT NULL UNIQUE,
            ip TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_seen INTEGER
        ) STRICT
        """,
        # No foreign key to appliances: backups outlive the appliance's removal from the hub.
        """
        CREATE TABLE backups (
            id TEXT PRIMARY KEY,
            appliance_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            filename TEXT NOT NULL,
            content BLOB NOT NULL,
            sha256 TEXT NOT NULL
        ) STRICT
        """,
        "CREATE INDEX backups_newest ON backups (appliance_id, created_at DESC, id DESC)",
    ),
)

LATEST_VERSION = len(MIGRATIONS)


def _current_version(connection: sqlite3.Connection) -> int:
    row = connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    return int(row[0])


def migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to `LATEST_VERSION`; `ConfigError` if the file is newer than the code."""
    connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)")
    current = _current_version(connection)
    if current > LATEST_VERSION:
        raise ConfigError(
            f"the database {path} has schema version {current}, newer than version "
            f"{LATEST_VERSION} that this MyKerio Hub understands; upgrade the hub or point it "
            "at another data directory"
        )
    for version in range(current + 1, LATEST_VERSION + 1):
        with transaction(connection):
            # Re-read inside the write lock: another process may have applied it meanwhile.
            if _current_version(connection) >= version:
                continue
            for statement in MIGRATIONS[version - 1]:
                connection.execute(statement)
            connection.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
