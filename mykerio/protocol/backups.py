"""The `backups` feature, version 1 (docs/protocol.md, section 9.6): its stream and messages.

An appliance uploads a configuration backup on a stream of kind `backup_upload` that it opens
with the backup's facts in `meta` (checked here); the hub answers `backup_refused` (with the
reason the appliance logs) or, once the backup is stored and verified, `backup_stored`. The hub
asks for a backup with `backup_now`; the appliance tells its backup state with `backup_state`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.text import text_problem

FEATURE = "backups"
UPLOAD_KIND = "backup_upload"
REASONS = ("scheduled", "manual", "before_change")
STATES = ("ok", "in_progress", "failed")
PRODUCTS = ("control", "operator")  # Kerio Connect's own backups are whole mail stores
# The credit a hub grants an upload stream at `stream_accept` (docs/protocol.md 9.6): more than
# a stream's default 1 MiB, so a fast upload never waits a round trip for credit; it bounds
# what one upload holds in the hub's memory before it is sealed and written.
UPLOAD_WINDOW = 4 * 1024 * 1024
# The frames a simulated appliance sends an upload in: the largest a frame may carry.
UPLOAD_FRAME_BYTES = 256 * 1024 - 8
MAX_BACKUP_BYTES = 2**40
# `backup_settings`: how often the appliance backs up on its own, in hours (0: only when asked,
# "Back up now"); the dashboard offers 6, 12, 24 (daily) and 168 (weekly).
MAX_EVERY_HOURS = 24 * 31
SCHEDULES = (0, 6, 12, 24, 168)  # what `meta.size` may say at all (the hub's own cap is far lower)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_META_FIELDS = frozenset(
    {"product", "version", "created_at", "size", "sha256", "reason", "options"}
)


@dataclass(frozen=True, slots=True)
class UploadMeta:
    """What the appliance says of the backup it is about to send."""

    product: str
    version: str
    created_at: datetime
    size: int
    sha256: str
    reason: str
    certificates: bool

    def to_json(self) -> dict[str, object]:
        """The stream's `meta`, as the appliance sends it."""
        return {
            "product": self.product,
            "version": self.version,
            "created_at": self.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "size": self.size,
            "sha256": self.sha256,
            "reason": self.reason,
            "options": {"certificates": self.certificates},
        }


def read_meta(meta: Mapping[str, object]) -> UploadMeta:
    """The upload's facts, or `ProtocolError("bad_body")` naming the field that is wrong."""
    extra = set(meta) - _META_FIELDS
    if extra:
        raise ProtocolError("bad_body", "backup_upload meta has unknown fields")
    missing = _META_FIELDS - set(meta)
    if missing:
        raise ProtocolError("bad_body", f"backup_upload meta.{sorted(missing)[0]} is missing")
    product, version, created = meta["product"], meta["version"], meta["created_at"]
    size, sha256, reason, options = meta["size"], meta["sha256"], meta["reason"], meta["options"]
    if product not in PRODUCTS:
        raise ProtocolError("bad_body", "backup_upload meta.product must be control or operator")
    if not isinstance(version, str) or text_problem(version, 32) is not None:
        raise ProtocolError("bad_body", "backup_upload meta.version must be 1 to 32 characters")
    created_at = _time(created)
    if type(size) is not int or not 1 <= size <= MAX_BACKUP_BYTES:
        raise ProtocolError("bad_body", "backup_upload meta.size must be a positive whole number")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ProtocolError("bad_body", "backup_upload meta.sha256 must be 64 lowercase hex digits")
    if reason not in REASONS:
        raise ProtocolError(
            "bad_body", "backup_upload meta.reason must be one of " + ", ".join(REASONS)
        )
    if (
        not isinstance(options, Mapping)
        or set(options) != {"certificates"}
        or not isinstance(options["certificates"], bool)
    ):
        raise ProtocolError("bad_body", "backup_upload meta.options must be {certificates: bool}")
    return UploadMeta(
        product=str(product),
        version=version,
        created_at=created_at,
        size=size,
        sha256=sha256,
        reason=str(reason),
        certificates=bool(options["certificates"]),
    )


def _time(value: object) -> datetime:
    if isinstance(value, str) and len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
    raise ProtocolError("bad_body", "backup_upload meta.created_at must be an ISO 8601 UTC time")
