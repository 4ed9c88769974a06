"""The hub's backups as the actors use them: sealed uploads in, verified backups listed, plain
bytes out — the store's records and blobs with the backups' key (`mykerio.backups.blobs`).

Uploads and downloads run outside any actor's message (a long transfer must not keep an actor
busy), so the vault holds no state of its own beyond the store, the key, the clock and how many
backups each appliance keeps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass

from mykerio.backups.blobs import SealedUpload, open_records
from mykerio.clock import Clock
from mykerio.models import Appliance, Backup, sequential_id
from mykerio.protocol.backups import UploadMeta
from mykerio.security.encryption import SecretBox
from mykerio.store.base import Store

KEEP = 5  # guide 2.6: "MyKerio stores up to five backup files per appliance"


@dataclass(frozen=True, slots=True)
class Upload:
    """One upload being received: what it will be listed as, and where its bytes go."""

    backup: Backup
    sealed: SealedUpload


class BackupVault:
    """Backups sealed on the way in, verified before they are listed, opened on the way out."""

    def __init__(self, store: Store, box: SecretBox, clock: Clock, keep: int = KEEP) -> None:
        self._store = store
        self._box = box
        self._clock = clock
        self.keep = keep

    async def begin(self, appliance: Appliance, meta: UploadMeta) -> Upload:
        """A temporary blob for an upload that the appliance announced with `meta`."""
        backup_id = sequential_id()
        blob = await self._store.backups.begin(backup_id)
        backup = Backup(
            id=backup_id,
            appliance_id=appliance.id,
            org_id=appliance.org_id,
            appliance_name=appliance.name,
            product=meta.product,
            version=meta.version,
            created_at=meta.created_at,
            stored_at=self._clock.now(),  # (set again when it is published)
            size=meta.size,
            sha256=meta.sha256,
            reason=meta.reason,
            certificates=meta.certificates,
        )
        return Upload(backup, SealedUpload(self._box, blob, backup_id, meta.size, meta.sha256))

    async def publish(self, upload: Upload) -> tuple[Backup, list[str]]:
        """Check size and digest, make it durable and list it (trimming the appliance's
        backups to the newest `keep`); the backup as listed and the ids trimmed."""
        await upload.sealed.finish()
        backup = dataclasses.replace(upload.backup, stored_at=self._clock.now())
        removed = await self._store.backups.publish(backup, upload.sealed.blob, self.keep)
        return backup, removed

    def plaintext(self, backup_id: str) -> AsyncIterator[bytes]:
        """A listed backup's bytes, a chunk at a time (`TamperedData` if a chunk fails to open)."""
        return open_records(self._box, backup_id, self._store.backups.records(backup_id))
