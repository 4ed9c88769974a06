"""What the Backups section shows: an organization's backups grouped by appliance (guide 2.6.2),
removed appliances too, and what a download hands out."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from mykerio.models import Backup

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class ApplianceBackups:
    """One appliance's backups, newest first (`removed`: no longer in the organization)."""

    appliance_id: str
    name: str
    product: str
    removed: bool
    connected: bool
    backups: tuple[Backup, ...]


@dataclass(frozen=True, slots=True)
class BackupDownload:
    """A backup being downloaded: its facts, a file name, and its bytes chunk by chunk."""

    backup: Backup
    filename: str
    chunks: AsyncIterator[bytes]


@dataclass(frozen=True, slots=True)
class BackupPair:
    """Two backups of one appliance being compared, older first, with their bytes."""

    older: Backup
    newer: Backup
    older_chunks: AsyncIterator[bytes]
    newer_chunks: AsyncIterator[bytes]


def file_name(backup: Backup) -> str:
    """`control-Brno-gateway-20260302-091405.tgz`: product, appliance, when it was stored."""
    name = _UNSAFE.sub("-", backup.appliance_name).strip("-.")[:60] or "appliance"
    return f"{backup.product}-{name}-{backup.stored_at:%Y%m%d-%H%M%S}.tgz"
