"""SQLite repository of appliance backups: records in the `backups` table, blobs as files.

Blobs live under the data directory, `backups/<id>.blob`, written first as `backups/tmp/<id>.part`.
A file is a sequence of records, each a 4-byte big-endian length and its bytes (the records are
sealed chunks: the file is encrypted at rest; `mykerio.backups.blobs`). Publishing is, in order:
flush and fsync the part file, rename it to its final name and fsync the directory (so the
rename survives a crash), then one transaction inserts the record and trims the appliance's
backups to the newest `keep`; the trimmed blobs are unlinked after that commits. A crash at any
point leaves either nothing listed (a part file, or a blob without a record) or a complete
backup (plus, at worst, blobs of trimmed records): `clean_leftovers` removes both kinds at start.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from mykerio.errors import Conflict, NotFound
from mykerio.models import Backup
from mykerio.security.encryption import TamperedData
from mykerio.store.base import BlobWriter, OperationObserver
from mykerio.store.codecs import BACKUPS
from mykerio.store.observed import observed
from mykerio.store.sqlite.connection import SqliteDatabase, duplicates_conflict, transaction
from mykerio.store.sqlite.tables import insert_statement
from mykerio.store.values import require_positive

_LENGTH = struct.Struct(">I")
_BLOB = ".blob"
_PART = ".part"

_NEWEST = """
SELECT * FROM backups WHERE appliance_id = ? ORDER BY stored_at DESC, id DESC LIMIT ?
"""
_OF_ORGANIZATION = "SELECT * FROM backups WHERE org_id = ? ORDER BY stored_at DESC, id DESC"
# LIMIT -1 means "no limit": every backup after the first `keep`.
_BEYOND_NEWEST = """
SELECT id FROM backups WHERE appliance_id = ?
ORDER BY stored_at DESC, id DESC LIMIT -1 OFFSET ?
"""


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _FileBlob:
    """A temporary blob file; `append` and `discard` run their I/O off the event loop."""

    def __init__(self, part: Path, final: Path) -> None:
        self.part = part
        self.final = final
        self._file: BinaryIO | None = open(part, "xb")  # noqa: SIM115 - closed by complete/discard
        os.chmod(part, 0o600)
        self.done = False
        self.placed = False  # the final file is ours (and removed if listing it fails)

    async def append(self, record: bytes) -> None:
        file = self._file
        if file is None:
            raise RuntimeError("the blob was published or discarded")
        # Written on the loop: a record (256 KiB) goes to the page cache in tens of
        # microseconds, less than a thread hop costs; the one slow step, fsync, runs in a
        # thread at `publish` (bench/backups.py measured both).
        file.write(_LENGTH.pack(len(record)))
        file.write(record)

    async def discard(self) -> None:
        if self.done:
            return
        self.done = True
        await asyncio.to_thread(self._drop)

    def _drop(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.part.unlink(missing_ok=True)

    def complete(self) -> None:
        """Flush, fsync, rename into place, fsync the directory (blocking: run in a thread)."""
        file = self._file
        if file is None:
            raise RuntimeError("the blob was published or discarded")
        file.flush()
        os.fsync(file.fileno())
        file.close()
        self._file = None
        try:
            # A hard link, not a rename: it never replaces the blob of a listed backup.
            os.link(self.part, self.final)
        except FileExistsError:
            self.part.unlink(missing_ok=True)
            self.done = True
            raise Conflict("a backup with this id exists") from None
        self.part.unlink()
        _fsync_directory(self.final.parent)
        self.done = True
        self.placed = True


class SqliteBackups:
    """`BackupRepository` on the `backups` table and the blob files in `directory`."""

    domain = "backups"

    def __init__(
        self, database: SqliteDatabase, directory: Path, on_operation: OperationObserver | None
    ) -> None:
        self._database = database
        self._directory = directory
        self._parts = directory / "tmp"
        self._parts.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.on_operation = on_operation

    def _blob_path(self, backup_id: str) -> Path:
        if not backup_id.isalnum():  # (ids are hex; never a path of the caller's choosing)
            raise NotFound(f"backup {backup_id}")
        return self._directory / f"{backup_id}{_BLOB}"

    @observed
    async def begin(self, backup_id: str) -> BlobWriter:
        """A temporary blob file for `backup_id`."""
        final = self._blob_path(backup_id)
        return await asyncio.to_thread(_FileBlob, self._parts / f"{backup_id}{_PART}", final)

    @observed
    async def publish(self, backup: Backup, blob: BlobWriter, keep: int) -> list[str]:
        """Make the blob durable, list the backup, trim to the `keep` newest."""
        if not isinstance(blob, _FileBlob) or blob.final != self._blob_path(backup.id):
            raise ValueError("the blob was not begun for this backup in this store")
        try:
            require_positive("keep", keep)
            params = BACKUPS.sqlite.encode(backup)
            await asyncio.to_thread(blob.complete)
        except BaseException:
            await blob.discard()
            raise

        def insert_and_trim(connection: sqlite3.Connection) -> list[str]:
            with transaction(connection):
                with duplicates_conflict(f"a backup with id {backup.id}"):
                    connection.execute(insert_statement(BACKUPS), params)
                beyond = connection.execute(_BEYOND_NEWEST, (backup.appliance_id, keep))
                removed = [str(row["id"]) for row in beyond.fetchall()]
                connection.executemany("DELETE FROM backups WHERE id = ?", [(i,) for i in removed])
            return removed

        try:
            removed = await self._database.run(insert_and_trim)
        except BaseException:
            if blob.placed:
                blob.final.unlink(missing_ok=True)
            raise
        await asyncio.to_thread(self._unlink, removed)
        return removed

    def _unlink(self, backup_ids: list[str]) -> None:
        for backup_id in backup_ids:
            self._blob_path(backup_id).unlink(missing_ok=True)

    @observed
    async def newest(self, appliance_id: str, limit: int) -> list[Backup]:
        """At most `limit` backups of the appliance, newest first."""
        require_positive("limit", limit)

        def select(connection: sqlite3.Connection) -> list[Backup]:
            rows = connection.execute(_NEWEST, (appliance_id, limit)).fetchall()
            return [BACKUPS.sqlite.decode(row) for row in rows]

        return await self._database.run(select)

    @observed
    async def of_organization(self, org_id: str) -> list[Backup]:
        """Every backup of the organization, newest first."""

        def select(connection: sqlite3.Connection) -> list[Backup]:
            rows = connection.execute(_OF_ORGANIZATION, (org_id,)).fetchall()
            return [BACKUPS.sqlite.decode(row) for row in rows]

        return await self._database.run(select)

    @observed
    async def get(self, backup_id: str) -> Backup:
        """One backup; `NotFound` if there is none."""

        def select(connection: sqlite3.Connection) -> Backup:
            row = connection.execute("SELECT * FROM backups WHERE id = ?", (backup_id,)).fetchone()
            if row is None:
                raise NotFound(f"backup {backup_id}")
            return BACKUPS.sqlite.decode(row)

        return await self._database.run(select)

    async def records(self, backup_id: str) -> AsyncIterator[bytes]:
        """The blob's records, read one at a time off the event loop."""
        await self.get(backup_id)
        try:
            file = await asyncio.to_thread(open, self._blob_path(backup_id), "rb")
        except FileNotFoundError:
            raise NotFound(f"backup {backup_id}") from None
        # (Once open, the file stays readable even if a trim unlinks it meanwhile.)
        try:
            while True:
                record = await asyncio.to_thread(_read_record, file)
                if record is None:
                    return
                yield record
        finally:
            file.close()

    @observed
    async def delete(self, backup_id: str) -> Backup:
        """Delete the record, then the blob file."""
        backup = await self.get(backup_id)

        def delete_row(connection: sqlite3.Connection) -> int:
            with transaction(connection):
                return connection.execute("DELETE FROM backups WHERE id = ?", (backup_id,)).rowcount

        if not await self._database.run(delete_row):
            raise NotFound(f"backup {backup_id}")
        await asyncio.to_thread(self._unlink, [backup_id])
        return backup

    @observed
    async def clean_leftovers(self) -> int:
        """Part files, and blob files that no record lists."""

        def listed(connection: sqlite3.Connection) -> set[str]:
            return {str(row["id"]) for row in connection.execute("SELECT id FROM backups")}

        known = await self._database.run(listed)
        return await asyncio.to_thread(self._clean, known)

    def _clean(self, known: set[str]) -> int:
        removed = 0
        for part in self._parts.glob(f"*{_PART}"):
            part.unlink(missing_ok=True)
            removed += 1
        for blob in self._directory.glob(f"*{_BLOB}"):
            if blob.name.removesuffix(_BLOB) not in known:
                blob.unlink(missing_ok=True)
                removed += 1
        return removed


def _read_record(file: BinaryIO) -> bytes | None:
    header = file.read(_LENGTH.size)
    if not header:
        return None
    if len(header) < _LENGTH.size:
        raise TamperedData("the backup's blob is truncated")
    (length,) = _LENGTH.unpack(header)
    record = file.read(length)
    if len(record) < length:
        raise TamperedData("the backup's blob is truncated")
    return record
