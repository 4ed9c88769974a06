"""A backup's bytes at rest: sealed chunks, verified while written, opened while read.

Backups hold the appliance's private keys and certificates, so the store never holds them
readable. The plaintext is cut into chunks of `CHUNK_BYTES`; each is sealed with AES-256-GCM
under a key HKDF derives from the data directory's `secret.key` for this purpose only
(`mykerio backups v1`, apart from mail bodies and TOTP secrets). The associated data binds each
chunk to its backup, its place and whether it is the last one, so chunks cannot be swapped
between backups, reordered, dropped or cut off at the end without opening failing. A stored
record is one flag byte (last or not) and the sealed chunk.

`SealedUpload` takes bytes as they arrive, counts them and refuses more than the announced
size at once; it hashes and seals them in batches of `BATCH_BYTES` in a worker thread (hashlib
and AES-GCM let go of the GIL on large buffers), so the event loop goes on receiving frames
meanwhile; `finish` seals the last chunk and checks size and SHA-256 before the
caller publishes. `open_records` turns a backup's records back into plaintext, one chunk at a
time (a download never holds the whole file).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

from mykerio.errors import InvalidInput
from mykerio.security.encryption import SecretBox, TamperedData, derive_key
from mykerio.store.base import BlobWriter

CHUNK_BYTES = 256 * 1024
# Bytes hashed and sealed per hop to the worker thread (a hop costs tens of microseconds).
BATCH_BYTES = 4 * CHUNK_BYTES
BACKUP_BLOB_INFO = "mykerio backups v1"
_LAST = b"\x01"
_MORE = b"\x00"


def backup_box(master: bytes) -> SecretBox:
    """The box that seals backup chunks: its own HKDF key from the hub's master secret."""
    return SecretBox(derive_key(master, info=BACKUP_BLOB_INFO))


def _purpose(backup_id: str, index: int, last: bytes) -> str:
    return f"backup {backup_id} chunk {index} {'last' if last == _LAST else 'more'}"


class SizeMismatch(InvalidInput):
    """The bytes received are not the size the upload announced."""

    code = "size_mismatch"


class DigestMismatch(InvalidInput):
    """The bytes received do not have the SHA-256 the upload announced."""

    code = "digest_mismatch"


class SealedUpload:
    """The plaintext of one upload, sealed chunk by chunk into a temporary blob."""

    def __init__(
        self, box: SecretBox, blob: BlobWriter, backup_id: str, size: int, sha256: str
    ) -> None:
        self._box = box
        self.blob = blob
        self._backup_id = backup_id
        self._size = size
        self._sha256 = sha256.lower()
        self._digest = hashlib.sha256()
        self._buffer = bytearray()
        self._index = 0
        self._waiting: list[bytes] = []  # received, not hashed or sealed yet
        self._waiting_bytes = 0
        self.received = 0

    async def write(self, data: bytes) -> None:
        """More bytes of the backup; `SizeMismatch` as soon as there are too many."""
        self.received += len(data)
        if self.received > self._size:
            raise SizeMismatch(f"the upload sent more than its announced {self._size} bytes")
        self._waiting.append(data)
        self._waiting_bytes += len(data)
        if self._waiting_bytes >= BATCH_BYTES:
            await self._seal_waiting()

    async def _seal_waiting(self) -> None:
        batch, self._waiting, self._waiting_bytes = self._waiting, [], 0
        if batch:
            for record in await asyncio.to_thread(self._seal_batch, batch):
                await self.blob.append(record)

    def _seal_batch(self, batch: list[bytes]) -> list[bytes]:
        """Hash a batch and seal its whole chunks (in the worker thread; one batch at a time,
        so nothing else touches this state meanwhile)."""
        records = []
        for data in batch:
            self._digest.update(data)
        self._buffer += b"".join(batch)
        whole = len(self._buffer) - len(self._buffer) % CHUNK_BYTES
        view = memoryview(self._buffer)
        for start in range(0, whole, CHUNK_BYTES):
            records.append(self._seal(bytes(view[start : start + CHUNK_BYTES]), _MORE))
        view.release()
        del self._buffer[:whole]
        return records

    def _seal(self, chunk: bytes, last: bytes) -> bytes:
        sealed = self._box.seal(chunk, purpose=_purpose(self._backup_id, self._index, last))
        self._index += 1
        return last + sealed

    async def finish(self) -> None:
        """Seal the rest as the last chunk and check size and digest (else the blob is
        discarded and `SizeMismatch` or `DigestMismatch` raised)."""
        await self._seal_waiting()
        if self.received != self._size:
            await self.blob.discard()
            raise SizeMismatch(
                f"the upload ended after {self.received} of its announced {self._size} bytes"
            )
        if self._digest.hexdigest() != self._sha256:
            await self.blob.discard()
            raise DigestMismatch("the upload's SHA-256 is not the one it announced")
        await self.blob.append(self._seal(bytes(self._buffer), _LAST))
        self._buffer.clear()


async def open_records(
    box: SecretBox, backup_id: str, records: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """The plaintext of a backup's records, chunk by chunk; `TamperedData` if any fails to
    open or the last one is missing."""
    index = 0
    ended = False
    async for record in records:
        if ended or not record:
            raise TamperedData(f"backup {backup_id} has records after its last one")
        flag, sealed = record[:1], record[1:]
        if flag not in (_LAST, _MORE):
            raise TamperedData(f"backup {backup_id} has a malformed record")
        chunk = box.open(sealed, purpose=_purpose(backup_id, index, flag))
        index += 1
        ended = flag == _LAST
        if chunk:
            yield chunk
    if not ended:
        raise TamperedData(f"backup {backup_id} is cut short")
