"""Domain models: the immutable values that cross layers and actor boundaries.

Every model is a frozen, slotted dataclass; datetimes are timezone-aware UTC. Changing a value
means making a new one with `dataclasses.replace`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


def new_id() -> str:
    """A fresh random identifier for a new domain object (32 lowercase hex characters)."""
    return uuid.uuid4().hex


def email_key(email: str) -> str:
    """The form in which emails are compared and looked up: case-insensitive, so lowercased."""
    return email.lower()


@dataclass(frozen=True, slots=True)
class User:
    """A hub account; `confirmed_at` stays `None` until the email address is confirmed."""

    id: str
    email: str
    full_name: str
    password_hash: str
    created_at: datetime
    confirmed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Appliance:
    """A Kerio appliance known by its public key; `org_id` is empty until it is added."""

    id: str
    org_id: str
    product: str
    version: str
    name: str
    public_key: bytes
    ip: str
    status: str
    created_at: datetime
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class Backup:
    """One configuration backup uploaded by an appliance, with its SHA-256 hex digest."""

    id: str
    appliance_id: str
    created_at: datetime
    filename: str
    content: bytes
    sha256: str
