"""Conversion between MongoDB documents and the appliance link's models: appliances, pairings
and status changes, by the rules of `documents` (`_id` is the id or the code hash; UTC
milliseconds; BSON binary; defaults for fields a document predates).
"""

from __future__ import annotations

from mykerio.models import Appliance, Pairing, StatusChange
from mykerio.store.mongo.documents import (
    loaded,
    optional_bytes,
    optional_loaded,
    optional_stored,
)
from mykerio.store.mongo.indexes import Document
from mykerio.store.values import to_utc_millis


def appliance_document(appliance: Appliance) -> Document:
    """The `appliances` document for `appliance`."""
    return {
        "_id": appliance.id,
        "org_id": appliance.org_id,
        "product": appliance.product,
        "version": appliance.version,
        "name": appliance.name,
        "public_key": appliance.public_key,
        "serial": appliance.serial,
        "ip": appliance.ip,
        "status": appliance.status,
        "status_reasons": list(appliance.status_reasons),
        "pending_notifications": appliance.pending_notifications,
        "created_at": to_utc_millis(appliance.created_at),
        "last_seen": optional_stored(appliance.last_seen),
        "connected": appliance.connected,
    }


def appliance_from_document(document: Document) -> Appliance:
    """The `Appliance` in an `appliances` document."""
    return Appliance(
        id=document["_id"],
        org_id=document["org_id"],
        product=document["product"],
        version=document["version"],
        name=document["name"],
        public_key=optional_bytes(document["public_key"]),
        serial=document.get("serial", ""),
        ip=document["ip"],
        status=document["status"],
        status_reasons=tuple(document.get("status_reasons", ())),
        pending_notifications=document.get("pending_notifications", 0),
        created_at=loaded(document["created_at"]),
        last_seen=optional_loaded(document["last_seen"]),
        connected=document.get("connected", False),
    )


def pairing_document(pairing: Pairing) -> Document:
    """The `pairings` document for `pairing`."""
    return {
        "_id": pairing.code_hash,
        "public_key": pairing.public_key,
        "product": pairing.product,
        "version": pairing.version,
        "name_hint": pairing.name_hint,
        "ip": pairing.ip,
        "created_at": to_utc_millis(pairing.created_at),
        "expires_at": to_utc_millis(pairing.expires_at),
    }


def pairing_from_document(document: Document) -> Pairing:
    """The `Pairing` in a `pairings` document."""
    return Pairing(
        code_hash=document["_id"],
        public_key=bytes(document["public_key"]),
        product=document["product"],
        version=document["version"],
        name_hint=document["name_hint"],
        ip=document["ip"],
        created_at=loaded(document["created_at"]),
        expires_at=loaded(document["expires_at"]),
    )


def status_change_document(change: StatusChange) -> Document:
    """The `status_changes` document for `change`."""
    return {
        "_id": change.id,
        "appliance_id": change.appliance_id,
        "org_id": change.org_id,
        "at": to_utc_millis(change.at),
        "status": change.status,
        "reasons": list(change.reasons),
    }


def status_change_from_document(document: Document) -> StatusChange:
    """The `StatusChange` in a `status_changes` document."""
    return StatusChange(
        id=document["_id"],
        appliance_id=document["appliance_id"],
        org_id=document["org_id"],
        at=loaded(document["at"]),
        status=document["status"],
        reasons=tuple(document["reasons"]),
    )
