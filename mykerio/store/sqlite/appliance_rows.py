"""Conversion between SQLite rows and the appliance link's models: appliances, pairings and
status changes, by the rules of `rows` (integer milliseconds, BLOBs, 0 or 1 for booleans).

Tuples of reasons are stored as JSON arrays of strings.
"""

from __future__ import annotations

import json

from mykerio.models import Appliance, Pairing, StatusChange
from mykerio.store.sqlite.rows import (
    Params,
    Row,
    optional_bytes,
    optional_datetime,
    optional_millis,
)
from mykerio.store.values import from_millis, to_millis


def reasons_text(reasons: tuple[str, ...]) -> str:
    """How a tuple of reasons is stored: as a JSON array of strings."""
    return json.dumps(list(reasons))


def _reasons(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


def appliance_params(appliance: Appliance) -> Params:
    """The `appliances` columns for `appliance`."""
    return {
        "id": appliance.id,
        "org_id": appliance.org_id,
        "product": appliance.product,
        "version": appliance.version,
        "name": appliance.name,
        "public_key": appliance.public_key,
        "serial": appliance.serial,
        "ip": appliance.ip,
        "status": appliance.status,
        "status_reasons": reasons_text(appliance.status_reasons),
        "pending_notifications": appliance.pending_notifications,
        "created_at": to_millis(appliance.created_at),
        "last_seen": optional_millis(appliance.last_seen),
        "connected": int(appliance.connected),
    }


def appliance_from_row(row: Row) -> Appliance:
    """The `Appliance` in an `appliances` row."""
    return Appliance(
        id=row["id"],
        org_id=row["org_id"],
        product=row["product"],
        version=row["version"],
        name=row["name"],
        public_key=optional_bytes(row["public_key"]),
        serial=row["serial"],
        ip=row["ip"],
        status=row["status"],
        status_reasons=_reasons(row["status_reasons"]),
        pending_notifications=row["pending_notifications"],
        created_at=from_millis(row["created_at"]),
        last_seen=optional_datetime(row["last_seen"]),
        connected=bool(row["connected"]),
    )


def pairing_params(pairing: Pairing) -> Params:
    """The `pairings` columns for `pairing`."""
    return {
        "code_hash": pairing.code_hash,
        "public_key": pairing.public_key,
        "product": pairing.product,
        "version": pairing.version,
        "name_hint": pairing.name_hint,
        "ip": pairing.ip,
        "created_at": to_millis(pairing.created_at),
        "expires_at": to_millis(pairing.expires_at),
    }


def pairing_from_row(row: Row) -> Pairing:
    """The `Pairing` in a `pairings` row."""
    return Pairing(
        code_hash=row["code_hash"],
        public_key=bytes(row["public_key"]),
        product=row["product"],
        version=row["version"],
        name_hint=row["name_hint"],
        ip=row["ip"],
        created_at=from_millis(row["created_at"]),
        expires_at=from_millis(row["expires_at"]),
    )


def status_change_params(change: StatusChange) -> Params:
    """The `status_changes` columns for `change`."""
    return {
        "id": change.id,
        "appliance_id": change.appliance_id,
        "org_id": change.org_id,
        "at": to_millis(change.at),
        "status": change.status,
        "reasons": reasons_text(change.reasons),
    }


def status_change_from_row(row: Row) -> StatusChange:
    """The `StatusChange` in a `status_changes` row."""
    return StatusChange(
        id=row["id"],
        appliance_id=row["appliance_id"],
        org_id=row["org_id"],
        at=from_millis(row["at"]),
        status=row["status"],
        reasons=_reasons(row["reasons"]),
    )
