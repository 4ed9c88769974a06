"""The appliance status model [2.8.1]: the knobs an appliance reports and the colour they make.

Colours, first match wins:

- grey: reserved for an organization (a box added by serial) and not connected yet;
- red: offline, or a major issue: licence expired, software maintenance expired;
- yellow: online with a minor issue: low memory, update available, and also certificate
  expiring, problem with a mapped domain, backup line active. These three are not in the guide's
  colour list; they are warnings the administrator should see but that do not stop the
  appliance, so they count as minor;
- green: online with no issue.

Each knob is also one notification kind: `pending_notifications` counts the active ones for the
dashboard's "N notifications pending".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Literal

Colour = Literal["grey", "red", "yellow", "green"]

OFFLINE = "Offline"
RESERVED = "Reserved, not connected yet"


@dataclass(frozen=True, slots=True)
class Knobs:
    """What an appliance last reported about itself; every flag off means no issue."""

    low_memory: bool = False
    update_available: bool = False
    licence_expired: bool = False
    maintenance_expired: bool = False
    certificate_expiring: bool = False
    backup_line_active: bool = False
    mapped_domain_problem: bool = False

    @classmethod
    def from_json(cls, values: Mapping[str, object]) -> Knobs:
        """The knobs of a `status` body's `knobs` object (already checked by its schema)."""
        return cls(**{name: values.get(name) is True for name in KNOB_NAMES})

    def to_json(self) -> dict[str, bool]:
        """The knobs as the `knobs` object of a `status` body."""
        return asdict(self)


KNOB_NAMES: tuple[str, ...] = tuple(field.name for field in fields(Knobs))

# Most serious first: this is the order of the reasons on the dashboard's hover.
MAJOR_REASONS: dict[str, str] = {
    "licence_expired": "Licence expired",
    "maintenance_expired": "Software maintenance expired",
}
MINOR_REASONS: dict[str, str] = {
    "low_memory": "Low memory",
    "update_available": "Update available",
    "certificate_expiring": "Certificate expiring",
    "mapped_domain_problem": "Problem with mapped domain",
    "backup_line_active": "Backup line active",
}


def _active(knobs: Knobs, names: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(text for name, text in names.items() if getattr(knobs, name))


def colour(connected: bool, reserved: bool, knobs: Knobs) -> Colour:
    """The status bullet's colour; a reserved box that has connected is judged like any other."""
    if reserved and not connected:
        return "grey"
    if not connected or _active(knobs, MAJOR_REASONS):
        return "red"
    if _active(knobs, MINOR_REASONS):
        return "yellow"
    return "green"


def reasons(knobs: Knobs, connected: bool, *, reserved: bool = False) -> tuple[str, ...]:
    """Why the bullet has its colour, most serious first; empty when green.

    Offline, only "Offline" (or the reserved text) is given: the knobs are the last report and
    may be stale, so the hover does not pretend to know them.
    """
    if not connected:
        return (RESERVED,) if reserved else (OFFLINE,)
    return _active(knobs, MAJOR_REASONS) + _active(knobs, MINOR_REASONS)


def pending_notifications(knobs: Knobs) -> int:
    """How many notification kinds are active (one per knob that is on)."""
    return sum(1 for name in KNOB_NAMES if getattr(knobs, name))
