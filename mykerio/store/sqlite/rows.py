"""Conversion between SQLite rows and domain models: the SQLite store's only such place.

Datetimes are stored as integer milliseconds since the Unix epoch (UTC), bytes as BLOBs. The
`*_params` functions give the named parameters for `insert_statement`; the `*_from_row`
functions read a row selected with the table's columns by name (`SELECT *`, `RETURNING *`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from mykerio.models import Appliance, Backup, User, email_key
from mykerio.store.values import from_millis, to_millis

Params = dict[str, Any]


class Row(Protocol):
    """A result row readable by column name, as `sqlite3.Row` is."""

    def __getitem__(self, column: str) -> Any: ...


def _optional_millis(moment: datetime | None) -> int | None:
    return None if moment is None else to_millis(moment)


def _optional_datetime(millis: int | None) -> datetime | None:
    return None if millis is None else from_millis(millis)


def user_params(user: User) -> Params:
    """The `users` columns for `user`, with its lowercased email for uniqueness."""
    return {
        "id": user.id,
        "email": user.email,
        "email_lower": email_key(user.email),
        "full_name": user.full_name,
        "password_hash": user.password_hash,
        "created_at": to_millis(user.created_at),
        "confirmed_at": _optional_millis(user.confirmed_at),
    }


def user_from_row(row: Row) -> User:
    """The `User` in a `users` row."""
    return User(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        password_hash=row["password_hash"],
        created_at=from_millis(row["created_at"]),
        confirmed_at=_optional_datetime(row["confirmed_at"]),
    )


def appliance_params(appliance: Appliance) -> Params:
    """The `appliances` columns for `appliance`."""
    return {
        "id": appliance.id,
        "org_id": appliance.org_id,
        "product": appliance.product,
        "version": appliance.version,
        "name": appliance.name,
        "public_key": appliance.public_key,
        "ip": appliance.ip,
        "status": appliance.status,
        "created_at": to_millis(appliance.created_at),
        "last_seen": _optional_millis(appliance.last_seen),
    }


def appliance_from_row(row: Row) -> Appliance:
    """The `Appliance` in an `appliances` row."""
    return Appliance(
        id=row["id"],
        org_id=row["org_id"],
        product=row["product"],
        version=row["version"],
        name=row["name"],
        public_key=bytes(row["public_key"]),
        ip=row["ip"],
        status=row["status"],
        created_at=from_millis(row["created_at"]),
        last_seen=_optional_datetime(row["last_seen"]),
    )


def backup_params(backup: Backup) -> Params:
    """The `backups` columns for `backup`."""
    return {
        "id": backup.id,
        "appliance_id": backup.appliance_id,
        "created_at": to_millis(backup.created_at),
        "filename": backup.filename,
        "content": backup.content,
        "sha256": backup.sha256,
    }


def backup_from_row(row: Row) -> Backup:
    """The `Backup` in a `backups` row."""
    return Backup(
        id=row["id"],
        appliance_id=row["appliance_id"],
        created_at=from_millis(row["created_at"]),
        filename=row["filename"],
        content=bytes(row["content"]),
        sha256=row["sha256"],
    )


def insert_statement(table: str, params: Params) -> str:
    """`INSERT INTO table (...) VALUES (:...)` for the columns in `params`."""
    columns = ", ".join(params)
    placeholders = ", ".join(f":{column}" for column in params)
    # Table and column names come from this module, never from input; values stay parameters.
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
