"""Comparing two backups of one appliance: a text diff of the configuration files inside.

A backup is the appliance's tar.gz of its configuration files. Both archives are hostile input
(an appliance made them): each is read as a stream from the vault's plaintext chunks — never
unpacked to disk, never whole in memory — in a worker thread, and refused (`ArchiveRefused`,
naming the rule) when it breaks one of the hub's limits:

- more than `MAX_MEMBERS` entries;
- a file over `MAX_MEMBER_BYTES`, or more than `MAX_TOTAL_BYTES` uncompressed in all (counted
  on the decompressed stream itself, so a gzip bomb stops there, headers included);
- a name that is absolute, climbs out with `..`, or holds a NUL or a backslash; a name twice;
- links, devices and other entries that are neither files nor folders.

At most `KEPT_TEXT_BYTES` of text per archive is held for the diff; files past it are compared
by SHA-256, so two archives cost a bounded amount of memory.

Text files (UTF-8 without NUL, up to `DIFF_FILE_BYTES`) are compared line by line (a unified
diff with 3 lines of context, at most `MAX_DIFF_LINES` lines over all files); other files by
size and SHA-256. Private keys are never shown, only whether they changed.
"""

from __future__ import annotations

import asyncio
import difflib
import gzip
import hashlib
import io
import tarfile
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import BinaryIO

from mykerio.errors import InvalidInput

MAX_MEMBERS = 1000
MAX_MEMBER_BYTES = 8 * 1024 * 1024
MAX_TOTAL_BYTES = 128 * 1024 * 1024
DIFF_FILE_BYTES = 1024 * 1024
KEPT_TEXT_BYTES = 16 * 1024 * 1024  # text held per archive to diff; past it, SHA-256 only
MAX_DIFF_LINES = 5000
_PRIVATE = (b"PRIVATE KEY-----",)


class ArchiveRefused(InvalidInput):
    """A backup that is not a tar.gz the hub will read, or breaks one of its limits."""

    code = "archive_refused"


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file that differs: `change` is `added`, `removed` or `changed`; `diff` is a
    unified diff for text, else "" with `note` saying what differs."""

    path: str
    change: str
    diff: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Comparison:
    """What differs between two backups' files (`unchanged`: how many are the same;
    `truncated`: the diff was cut at `MAX_DIFF_LINES` lines)."""

    files: tuple[FileChange, ...]
    unchanged: int
    truncated: bool


@dataclass(frozen=True, slots=True)
class _File:
    size: int
    sha256: str
    text: str | None  # the content, when a text file small enough to diff
    private: bool


async def compare_backups(
    older: AsyncIterator[bytes], newer: AsyncIterator[bytes], *, names: tuple[str, str]
) -> Comparison:
    """Compare two backups' files, reading each from its plaintext chunks (`names`: how the
    diff calls the two sides). `ArchiveRefused` if either breaks a rule."""
    loop = asyncio.get_running_loop()
    try:
        before = await asyncio.to_thread(read_archive, _reader(older, loop), names[0])
        after = await asyncio.to_thread(read_archive, _reader(newer, loop), names[1])
    finally:
        for chunks in (older, newer):
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()
    return await asyncio.to_thread(compare_files, before, after, names)


def _reader(chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> BinaryIO:
    return io.BufferedReader(_ChunkReader(chunks, loop), 256 * 1024)


def read_archive(raw: BinaryIO, name: str = "backup") -> dict[str, _File]:
    """The files of a tar.gz stream, checked against the limits above (blocking)."""
    files: dict[str, _File] = {}
    members = 0
    total = 0
    kept_text = 0
    stream = _Bounded(gzip.GzipFile(fileobj=raw, mode="rb"), MAX_TOTAL_BYTES, name)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                members += 1
                if members > MAX_MEMBERS:
                    raise ArchiveRefused(f"{name} has more than {MAX_MEMBERS} entries")
                path = _checked_path(member.name, name)
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ArchiveRefused(f"{name}: {path} is not a file or a folder")
                if member.size > MAX_MEMBER_BYTES:
                    raise ArchiveRefused(
                        f"{name}: {path} is over {MAX_MEMBER_BYTES // (1024 * 1024)} MiB"
                    )
                total += member.size
                if total > MAX_TOTAL_BYTES:
                    raise ArchiveRefused(_too_big(name))
                if path in files:
                    raise ArchiveRefused(f"{name} holds {path} twice")
                handle = archive.extractfile(member)
                data = handle.read() if handle is not None else b""
                kept = _file_of(data, kept_text < KEPT_TEXT_BYTES)
                kept_text += len(data) if kept.text is not None else 0
                files[path] = kept
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise ArchiveRefused(f"{name} is not a readable tar.gz archive") from error
    return files


def compare_files(
    before: dict[str, _File], after: dict[str, _File], names: tuple[str, str]
) -> Comparison:
    """What differs between two archives' files, by path (blocking: difflib)."""
    changes: list[FileChange] = []
    unchanged = 0
    lines_left = MAX_DIFF_LINES
    truncated = False
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old is not None and new is not None and old.sha256 == new.sha256:
            unchanged += 1
            continue
        change = "added" if old is None else "removed" if new is None else "changed"
        if (old is not None and old.private) or (new is not None and new.private):
            changes.append(FileChange(path, change, note="a private key: not shown"))
            continue
        old_text = "" if old is None else old.text
        new_text = "" if new is None else new.text
        if old_text is None or new_text is None:
            changes.append(FileChange(path, change, note=_binary_note(old, new)))
            continue
        diff = list(
            difflib.unified_diff(
                old_text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=f"{names[0]}/{path}" if old is not None else "/dev/null",
                tofile=f"{names[1]}/{path}" if new is not None else "/dev/null",
                n=3,
            )
        )
        if len(diff) > lines_left:
            diff, truncated = diff[:lines_left], True
        lines_left -= len(diff)
        text = "".join(line if line.endswith("\n") else line + "\n" for line in diff)
        changes.append(FileChange(path, change, diff=text))
    return Comparison(tuple(changes), unchanged, truncated)


def _checked_path(raw: str, name: str) -> str:
    path = raw.removeprefix("./")
    parts = path.split("/")
    if (
        not path
        or raw.startswith("/")
        or "\x00" in raw
        or "\\" in raw
        or ".." in parts
        or len(raw) > 255
    ):
        shown = raw[:80].encode("unicode_escape").decode("ascii")
        raise ArchiveRefused(f"{name} holds an unsafe file name: {shown}")
    return path.rstrip("/")


def _file_of(data: bytes, keep_text: bool) -> _File:
    private = any(marker in data for marker in _PRIVATE)
    text: str | None = None
    if keep_text and len(data) <= DIFF_FILE_BYTES and b"\x00" not in data:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    return _File(len(data), hashlib.sha256(data).hexdigest(), text, private)


def _binary_note(old: _File | None, new: _File | None) -> str:
    if old is None and new is not None:
        return f"not text: {new.size} bytes"
    if new is None and old is not None:
        return f"not text: {old.size} bytes"
    assert old is not None
    assert new is not None
    return f"not text: {old.size} bytes before, {new.size} bytes after"


def _too_big(name: str) -> str:
    return f"{name} is over {MAX_TOTAL_BYTES // (1024 * 1024)} MiB uncompressed"


class _Bounded(io.RawIOBase):
    """A reader that refuses to give more than `limit` bytes (the decompressed archive)."""

    def __init__(self, inner: gzip.GzipFile, limit: int, name: str) -> None:
        self._inner = inner
        self._left = limit + 64 * 1024  # (room for the tar headers and end blocks)
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(min(len(buffer), 256 * 1024))
        self._left -= len(data)
        if self._left < 0:
            raise ArchiveRefused(_too_big(self._name))
        buffer[: len(data)] = data
        return len(data)


class _ChunkReader(io.RawIOBase):
    """A blocking reader (for a worker thread) over an async iterator of chunks that the
    event loop `loop` produces; one chunk is held at a time."""

    def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._chunks = chunks
        self._loop = loop
        self._pending = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            future = asyncio.run_coroutine_threadsafe(_next_chunk(self._chunks), self._loop)
            chunk = future.result(timeout=60)
            if chunk is None:
                self._done = True
            else:
                self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]  # (a view: no copy)
        return size


async def _next_chunk(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None
