"""Conversion between MongoDB documents and domain models: the MongoDB store's only such place.

`_id` is the domain id. Datetimes go in as UTC truncated to milliseconds (BSON's precision) and
come out normalised to `datetime.UTC`, whatever tzinfo the driver attached; bytes are stored as
BSON binary and come back as `bytes`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mykerio.models import Appliance, Backup, User, email_key
from mykerio.store.mongo.indexes import Document
from mykerio.store.values import to_utc_millis


def _optional_stored(moment: datetime | None) -> datetime | None:
    return None if moment is None else to_utc_millis(moment)


def _loaded(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _optional_loaded(moment: datetime | None) -> datetime | None:
    return None if moment is None else _loaded(moment)


def user_document(user: User) -> Document:
    """The `users` document for `user`, with its lowercased email for uniqueness."""
    return {
        "_id": user.id,
        "email": user.email,
        "email_lower": email_key(user.email),
        "full_name": user.full_name,
        "password_hash": user.password_hash,
        "created_at": to_utc_millis(user.created_at),
        "confirmed_at": _optional_stored(user.confirmed_at),
    }


def user_from_document(document: Document) -> User:
    """The `User` in a `users` document."""
    return User(
        id=document["_id"],
        email=document["email"],
        full_name=document["full_name"],
        password_hash=document["password_hash"],
        created_at=_loaded(document["created_at"]),
        confirmed_at=_optional_loaded(document["confirmed_at"]),
    )


def appliance_document(appliance: Appliance) -> Document:
    """The `appliances` document for `appliance`."""
    return {
        "_id": appliance.id,
        "org_id": appliance.org_id,
        "product": appliance.product,
        "version": appliance.version,
        "name": appliance.name,
        "public_key": appliance.public_key,
        "ip": appliance.ip,
        "status": appliance.status,
        "created_at": to_utc_millis(appliance.created_at),
        "last_seen": _optional_stored(appliance.last_seen),
    }


def appliance_from_document(document: Document) -> Appliance:
    """The `Appliance` in an `appliances` document."""
    return Appliance(
        id=document["_id"],
        org_id=document["org_id"],
        product=document["product"],
        version=document["version"],
        name=document["name"],
        public_key=bytes(document["public_key"]),
        ip=document["ip"],
        status=document["status"],
        created_at=_loaded(document["created_at"]),
        last_seen=_optional_loaded(document["last_seen"]),
    )


def backup_document(backup: Backup) -> Document:
    """The `backups` document for `backup`."""
    return {
        "_id": backup.id,
        "appliance_id": backup.appliance_id,
        "created_at": to_utc_millis(backup.created_at),
        "filename": backup.filename,
        "content": backup.content,
        "sha256": backup.sha256,
    }


def backup_from_document(document: Document) -> Backup:
    """The `Backup` in a `backups` document."""
    return Backup(
        id=document["_id"],
        appliance_id=document["appliance_id"],
        created_at=_loaded(document["created_at"]),
        filename=document["filename"],
        content=bytes(document["content"]),
        sha256=document["sha256"],
    )
