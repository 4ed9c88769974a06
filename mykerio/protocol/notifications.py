"""Appliance notifications (feature `notifications`, version 1; docs/protocol.md 9.10).

The appliance raises a notification with `notification` (its own `id`, a `type`, a `severity`,
a `text` and the time it arose) and ends it with `notification_cleared`. On every link it
raises each active one again and then sends `notification_cleared` with `except`: the ids it
just raised; every other notification the hub kept from earlier links has ended. Raising an id
that is active again replaces it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from mykerio.protocol.status import Knobs

FEATURE = "notifications"
MAX_ACTIVE = 64  # per appliance; one more is refused with an `error` (the link stays)
TEXT_CHARS = 1000

TYPES: dict[str, str] = {
    "update_available": "Update available",
    "low_memory": "Low memory",
    "mapped_domain_problem": "Problem with mapped domain",
    "maintenance_expiry": "Expiration of maintenance subscription",
    "licence_expiry": "Expiration of licence",
    "backup_line_active": "Backup line active",
    "certificate_expiry": "Expiration of certificates",
    "backup_failed": "Backup failed",
}
SEVERITIES = ("warning", "error")
NOTICE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclasses.dataclass(frozen=True, slots=True)
class Notice:
    """One notification as the appliance raised it."""

    notice_id: str
    type: str
    severity: str
    text: str
    raised_at: datetime

    def to_json(self) -> dict[str, str]:
        """The `notification` body."""
        return {
            "id": self.notice_id,
            "type": self.type,
            "severity": self.severity,
            "text": self.text,
            "at": self.raised_at.isoformat(),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Cleared:
    """A `notification_cleared`: one id ended, or (`keep`) every id but these."""

    notice_id: str | None
    keep: tuple[str, ...] = ()


def read_notice(body: Mapping[str, object]) -> Notice:
    """The notice of a `notification` body (its schema already checked)."""
    raised = datetime.fromisoformat(str(body["at"])).astimezone(UTC)
    return Notice(
        str(body["id"]), str(body["type"]), str(body["severity"]), str(body["text"]), raised
    )


def read_cleared(body: Mapping[str, object]) -> Cleared:
    """What a `notification_cleared` body ends (its schema already checked)."""
    keep = body.get("except")
    if isinstance(keep, Sequence) and not isinstance(keep, str):
        return Cleared(None, tuple(str(one) for one in keep))
    return Cleared(str(body["id"]))


def cleared_problem(value: object) -> str | None:
    """`except`: a list of at most `MAX_ACTIVE` notification ids."""
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) > MAX_ACTIVE:
        return f"must be a list of at most {MAX_ACTIVE} ids"
    if any(not isinstance(one, str) or not NOTICE_ID.fullmatch(one) for one in value):
        return "must hold ids of 1 to 64 letters, digits or ._:-"
    return None


# The simulator's knobs (and the status model's) as notifications: type and severity. A
# licence or maintenance that has expired is an error; the rest are warnings.
KNOB_NOTICES: dict[str, tuple[str, str]] = {
    "low_memory": ("low_memory", "warning"),
    "update_available": ("update_available", "warning"),
    "licence_expired": ("licence_expiry", "error"),
    "maintenance_expired": ("maintenance_expiry", "error"),
    "certificate_expiring": ("certificate_expiry", "warning"),
    "backup_line_active": ("backup_line_active", "warning"),
    "mapped_domain_problem": ("mapped_domain_problem", "warning"),
}
KNOB_TEXTS: dict[str, str] = {
    "low_memory": "Low memory: less than 10 % of the memory is free.",
    "update_available": "A new version of the product is available.",
    "licence_expired": "The licence has expired.",
    "maintenance_expired": "The software maintenance subscription has expired.",
    "certificate_expiring": "A certificate expires in less than 14 days.",
    "backup_line_active": "The backup internet line is active; the primary line is down.",
    "mapped_domain_problem": "A mapped domain does not resolve to this appliance.",
}


def knob_notices(knobs: Knobs, since: datetime) -> list[Notice]:
    """The notifications the knobs that are on stand for (ids: the knob names)."""
    active = []
    for name, (kind, severity) in KNOB_NOTICES.items():
        if getattr(knobs, name):
            active.append(Notice(name, kind, severity, KNOB_TEXTS[name], since))
    return active
