"""Bodies of the Backups section: an organization's backups by appliance, "Back up now"."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from web.models.base import RequestModel, ResponseModel, Timestamp


class BackupEntry(ResponseModel):
    """One configuration backup, complete and verified."""

    id: str
    filename: str = Field(description="What a download saves it as")
    created_at: Timestamp = Field(description="When the appliance made it (its clock)")
    stored_at: Timestamp = Field(description="When the hub stored it; orders the newest five")
    size: int = Field(description="Bytes")
    sha256: str = Field(description="Hex SHA-256 of the file")
    product: str
    version: str
    reason: Literal["scheduled", "manual", "before_change"]
    certificates: bool = Field(description="It holds certificates and their private keys")


class ApplianceBackupsEntry(ResponseModel):
    """One appliance's backups, newest first, and its backup state."""

    appliance_id: str
    name: str
    product: str
    removed: bool = Field(description="No longer in the organization; its backups are kept")
    connected: bool
    state: Literal["", "ok", "in_progress", "failed"] = Field(description='"": not known yet')
    state_message: str = Field(description="Why the last backup failed")
    settings: BackupSettingsEntry | None = Field(
        default=None, description="Its backup settings (null: not reported yet)"
    )
    backups: list[BackupEntry]


class BackupSettingsEntry(ResponseModel):
    """An appliance's backup settings as it last reported them."""

    enabled: bool = Field(description='"Save configuration to MyKerio"')
    every_hours: int = Field(
        description="Backs up on its own every this many hours (0: only when asked)"
    )


class BackupSettingsRequest(RequestModel):
    """The backup settings to send an appliance."""

    appliance_id: str = Field(min_length=1, max_length=64)
    enabled: bool
    every_hours: Literal[0, 6, 12, 24, 168] = Field(
        description='0: only on "Back up now"; 24: daily; 168: weekly'
    )


class BackupsList(ResponseModel):
    """The organization's backups by appliance (by name; removed appliances last)."""

    appliances: list[ApplianceBackupsEntry]


class BackupNowRequest(RequestModel):
    """Which appliance to back up now; `""` (or no field): every connected one that can."""

    appliance_id: str = ""


class BackupNowAnswer(ResponseModel):
    """How many appliances were asked for a backup."""

    asked: int


class FileChangeEntry(ResponseModel):
    """One file that differs between two backups."""

    path: str = Field(description="Its path inside the archive")
    change: Literal["added", "removed", "changed"]
    diff: str = Field(description='A unified diff for a text file; "" otherwise')
    note: str = Field(description="What differs when there is no diff (binary, private key)")


class BackupComparison(ResponseModel):
    """What differs between the configuration files of two backups of one appliance."""

    older: BackupEntry
    newer: BackupEntry
    files: list[FileChangeEntry] = Field(description="The files that differ, by path")
    unchanged: int = Field(description="How many files are the same in both")
    truncated: bool = Field(description="The diff was cut at the hub's line limit")
