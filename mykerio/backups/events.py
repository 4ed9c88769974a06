"""Events of appliance backups, published on the bus (`mykerio.bus`) by the backups actor.

Plain values only (ids, names, states), like the organizations' events.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackupStored:
    """An upload was verified and listed (`removed`: the ids the five-newest trim deleted)."""

    org_id: str
    appliance_id: str
    backup_id: str
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BackupStateChanged:
    """An appliance's backup state: `ok`, `in_progress` or `failed` (with its `message`)."""

    org_id: str
    appliance_id: str
    state: str
    message: str


@dataclass(frozen=True, slots=True)
class BackupSettingsChanged:
    """An appliance reported its backup settings (`every_hours` 0: only when asked)."""

    org_id: str
    appliance_id: str
    enabled: bool
    every_hours: int
