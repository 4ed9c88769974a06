"""Tests of mykerio/backups/compare.py: the diff of two backups and hostile archives refused."""

from __future__ import annotations

import io
import tarfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from mykerio.agent.backups import configuration_archive
from mykerio.agent.profile import Profile
from mykerio.backups import compare
from mykerio.backups.compare import ArchiveRefused, compare_backups

WHEN = datetime(2026, 3, 2, 9, 14, 5, tzinfo=UTC)


async def chunks_of(data: bytes, size: int = 7000) -> AsyncIterator[bytes]:
    """The archive as the vault hands it out: chunk by chunk."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def tar_gz(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return out.getvalue()


def file(name: str, data: bytes = b"x\n") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


async def refusal(archive: bytes) -> str:
    good = tar_gz(file("host.cfg"))
    with pytest.raises(ArchiveRefused) as caught:
        await compare_backups(chunks_of(good), chunks_of(archive), names=("old", "new"))
    return caught.value.message


async def test_two_backups_differ_by_the_lines_of_the_files_that_changed() -> None:
    """A renamed appliance's backups differ in its host name lines, shown as a unified diff
    per file with the same files counted; the private key's change is said, not shown."""
    profile = Profile("control", "9.4.5")
    older = configuration_archive(profile, "brno", WHEN)
    newer = configuration_archive(profile, "brno-2", WHEN)

    result = await compare_backups(chunks_of(older), chunks_of(newer), names=("a", "b"))

    changed = {f.path: f for f in result.files}
    assert set(changed) == {"host.cfg", "winroute.cfg", "sslcert/server.crt", "sslcert/server.key"}
    assert result.unchanged == 1  # UserDB.cfg
    host = changed["host.cfg"].diff
    assert "--- a/host.cfg\n+++ b/host.cfg\n" in host
    assert "-hostname=brno\n+hostname=brno-2\n" in host
    key = changed["sslcert/server.key"]
    assert (key.diff, key.note) == ("", "a private key: not shown")
    assert not result.truncated


async def test_added_removed_and_binary_files_are_said_and_long_diffs_are_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new file, a gone file, a binary file, and a diff past the line limit cut."""
    monkeypatch.setattr(compare, "MAX_DIFF_LINES", 10)
    older = tar_gz(file("gone.cfg"), file("blob.dat", b"\x00\x01"), file("big.cfg", b"a\n" * 50))
    newer = tar_gz(file("new.cfg"), file("blob.dat", b"\x00\x02\x03"), file("big.cfg", b"b\n" * 50))
    result = await compare_backups(chunks_of(older), chunks_of(newer), names=("a", "b"))
    by_path = {f.path: f for f in result.files}
    assert by_path["gone.cfg"].change == "removed"
    assert by_path["new.cfg"].change == "added"
    assert by_path["blob.dat"].note == "not text: 2 bytes before, 3 bytes after"
    assert result.truncated
    assert sum(len(f.diff.splitlines()) for f in result.files) == 10


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/shadow", "a/../../b", "a\\b"])
async def test_names_that_climb_out_or_are_absolute_are_refused(name: str) -> None:
    """Path traversal in a member name refuses the archive, naming the file."""
    assert "unsafe file name" in await refusal(tar_gz(file(name)))


async def test_links_and_too_many_entries_and_repeated_names_are_refused() -> None:
    """A symlink, one entry over the limit, and a name twice."""
    link = tarfile.TarInfo("evil")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    assert "not a file or a folder" in await refusal(tar_gz((link, b"")))
    many = tar_gz(*(file(f"f{i}") for i in range(compare.MAX_MEMBERS + 1)))
    assert f"more than {compare.MAX_MEMBERS} entries" in await refusal(many)
    assert "holds a.cfg twice" in await refusal(tar_gz(file("a.cfg"), file("a.cfg")))


async def test_a_huge_member_and_a_gzip_bomb_are_refused_before_they_are_read_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file over the member limit (its header says so), and an archive whose decompressed
    stream outgrows the total limit (counted on the stream); garbage is not an archive."""
    monkeypatch.setattr(compare, "MAX_MEMBER_BYTES", 1024 * 1024)
    monkeypatch.setattr(compare, "MAX_TOTAL_BYTES", 3 * 1024 * 1024)
    huge = tar_gz(file("stats.dat", bytes(2 * 1024 * 1024)))
    assert "stats.dat is over 1 MiB" in await refusal(huge)
    bomb = tar_gz(*(file(f"part{i}", bytes(1024 * 1024 - 1024)) for i in range(5)))
    assert len(bomb) < 50_000  # (zeros compress a thousandfold)
    assert "over 3 MiB uncompressed" in await refusal(bomb)
    assert "not a readable tar.gz" in await refusal(b"not a gzip stream at all")
