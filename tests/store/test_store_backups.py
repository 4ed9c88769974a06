"""Contract tests of the backups repository (records and blobs), on SQLite and on FerretDB."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from datetime import timedelta
from pathlib import Path

import pytest

from mykerio.backups.blobs import (
    CHUNK_BYTES,
    DigestMismatch,
    SealedUpload,
    SizeMismatch,
    backup_box,
    open_records,
)
from mykerio.errors import Conflict, NotFound
from mykerio.security.encryption import TamperedData
from mykerio.store import Store, open_store
from tests.store.factories import T0, make_backup, records_of, store_backup

MASTER = bytes(range(32))


async def test_publish_keeps_five_newest_by_stored_at(store: Store) -> None:
    """Eight backups keep the five newest (by when the hub stored them), blobs and records."""
    backups = [make_backup("a1", T0 + timedelta(minutes=i)) for i in range(8)]
    other = await store_backup(store, make_backup("a2", T0))

    removed = [await store_backup(store, backup, [backup.id.encode()]) for backup in backups]

    assert other == []
    assert removed == [[], [], [], [], [], [backups[0].id], [backups[1].id], [backups[2].id]]
    assert await store.backups.newest("a1", 10) == backups[:2:-1]
    assert [b.id for b in await store.backups.newest("a1", 2)] == [backups[7].id, backups[6].id]
    assert len(await store.backups.newest("a2", 10)) == 1
    for gone in backups[:3]:
        with pytest.raises(NotFound):
            await store.backups.get(gone.id)
    assert await records_of(store, backups[7].id) == [backups[7].id.encode()]
    assert await store.backups.clean_leftovers() == 0  # the trim left no blob behind


async def test_twenty_concurrent_uploads_leave_exactly_five_complete(store: Store) -> None:
    """Twenty uploads at once, each writing its blob in several records, leave the five newest,
    each complete."""
    backups = [make_backup("a1", T0 + timedelta(seconds=i)) for i in range(20)]

    async def upload(backup_index: int) -> list[str]:
        backup = backups[backup_index]
        blob = await store.backups.begin(backup.id)
        for part in range(3):
            await blob.append(f"{backup.id}:{part}".encode())
            await asyncio.sleep(0)  # interleave with the other uploads
        return await store.backups.publish(backup, blob, 5)

    removed = await asyncio.gather(*(upload(i) for i in range(20)))

    newest = await store.backups.newest("a1", 50)
    assert [backup.id for backup in newest] == [backup.id for backup in reversed(backups[-5:])]
    assert {i for ids in removed for i in ids} == {backup.id for backup in backups[:-5]}
    for backup in newest:
        assert await records_of(store, backup.id) == [f"{backup.id}:{p}".encode() for p in range(3)]
    assert await store.backups.clean_leftovers() == 0


async def test_an_unpublished_blob_is_not_listed_and_is_cleaned(
    store: Store, store_uri: str, tmp_path: Path
) -> None:
    """A blob being written (or left by a hub that stopped) lists nothing and reads as not
    found; the next start's `clean_leftovers` removes it; a discarded blob is gone at once."""
    backup = make_backup("a1", T0)
    blob = await store.backups.begin(backup.id)
    await blob.append(b"half")
    dropped = await store.backups.begin(make_backup("a1", T0).id)
    await dropped.append(b"cut")
    await dropped.discard()
    await dropped.discard()

    assert await store.backups.newest("a1", 5) == []
    with pytest.raises(NotFound):
        await records_of(store, backup.id)
    again = await open_store(store_uri, tmp_path)
    try:
        assert await again.backups.clean_leftovers() == 1
        assert await again.backups.clean_leftovers() == 0
    finally:
        await again.close()
        await blob.discard()  # (the file this process still holds open)


async def test_of_organization_get_and_delete(store: Store) -> None:
    """An organization's backups, newest first, of removed appliances too; delete removes one
    (record and blob) and says which; a second delete is `NotFound`."""
    first = make_backup("a1", T0)
    second = make_backup("a2", T0 + timedelta(seconds=1))
    elsewhere = make_backup("a3", T0, org_id="org2")
    for backup in (first, second, elsewhere):
        await store_backup(store, backup)

    assert await store.backups.of_organization("org1") == [second, first]
    assert await store.backups.get(first.id) == first
    assert await store.backups.delete(first.id) == first
    with pytest.raises(NotFound):
        await store.backups.delete(first.id)
    with pytest.raises(NotFound):
        await records_of(store, first.id)
    assert await store.backups.of_organization("org1") == [second]
    assert await store.backups.clean_leftovers() == 0


async def test_a_duplicate_id_conflicts_and_lists_nothing_more(store: Store) -> None:
    """Publishing a second backup under a listed id is a conflict; the first stays whole."""
    backup = make_backup("a1", T0)
    await store_backup(store, backup, [b"first"])

    with pytest.raises(Conflict):
        await store_backup(store, dataclasses.replace(backup, size=9), [b"second"])

    assert await store.backups.newest("a1", 5) == [backup]
    assert await records_of(store, backup.id) == [b"first"]


async def test_sealed_upload_round_trips_and_is_encrypted_at_rest(store: Store) -> None:
    """Several chunks' worth of bytes, written in odd pieces, come back the same; no record
    holds them readable."""
    content = os.urandom(CHUNK_BYTES * 2 + 123)
    backup = make_backup("a1", T0, content)
    box = backup_box(MASTER)
    upload = SealedUpload(
        box, await store.backups.begin(backup.id), backup.id, backup.size, backup.sha256
    )
    for start in range(0, len(content), 65_528):
        await upload.write(content[start : start + 65_528])
    await upload.finish()
    await store.backups.publish(backup, upload.blob, 5)

    records = await records_of(store, backup.id)
    assert len(records) == 3
    assert all(content[:64] not in record for record in records)
    plain = [c async for c in open_records(box, backup.id, store.backups.records(backup.id))]
    assert b"".join(plain) == content
    assert max(len(chunk) for chunk in plain) == CHUNK_BYTES


@pytest.mark.parametrize("problem", ["size", "digest", "too_much"])
async def test_sealed_upload_refuses_a_wrong_size_or_digest(store: Store, problem: str) -> None:
    """Too few or too many bytes, or other bytes than announced: refused, the blob dropped."""
    content = b"configuration"
    sha = hashlib.sha256(b"other" if problem == "digest" else content).hexdigest()
    backup = make_backup("a1", T0)
    upload = SealedUpload(
        backup_box(MASTER), await store.backups.begin(backup.id), backup.id, len(content), sha
    )
    if problem == "too_much":
        with pytest.raises(SizeMismatch):
            await upload.write(content + b"!")
        await upload.blob.discard()
    else:
        await upload.write(content[:-1] if problem == "size" else content)
        expected = SizeMismatch if problem == "size" else DigestMismatch
        with pytest.raises(expected):
            await upload.finish()

    assert await store.backups.newest("a1", 5) == []
    assert await store.backups.clean_leftovers() == 0


async def test_opening_fails_for_another_key_a_swap_or_a_cut(store: Store) -> None:
    """Records opened with another key, under another backup's id, or without their last one
    fail with `TamperedData` (never wrong bytes)."""
    content = os.urandom(CHUNK_BYTES + 10)
    backup = make_backup("a1", T0, content)
    box = backup_box(MASTER)
    blob = await store.backups.begin(backup.id)
    upload = SealedUpload(box, blob, backup.id, backup.size, backup.sha256)
    await upload.write(content)
    await upload.finish()
    await store.backups.publish(backup, upload.blob, 5)
    records = await records_of(store, backup.id)

    async def replay(items: list[bytes]):  # type: ignore[no-untyped-def]
        for item in items:
            yield item

    cases = [
        (backup_box(bytes(32)), backup.id, records),
        (box, "f" * 32, records),
        (box, backup.id, records[:1]),
        (box, backup.id, records[::-1]),
    ]
    for key, backup_id, items in cases:
        with pytest.raises(TamperedData):
            async for _ in open_records(key, backup_id, replay(items)):
                pass
