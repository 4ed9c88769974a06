"""The simulator's configuration backups: "Save configuration to MyKerio" (guide 2.6.1).

A linked version 2 session whose hub chose the `backups` feature uploads a tar.gz of the
appliance's configuration files (a few KB; padded with incompressible data up to `size` bytes
when asked, for tests and benchmarks) on a `backup_upload` stream (docs/protocol.md, section
9.6): on a schedule (`every` seconds while linked, the first one `every` after linking), when
the hub says `backup_now`, and again after a reconnect when an upload was cut. It reports its
state with `backup_state` (in progress, ok, failed with the hub's message) and logs every
refusal; after one that says "try later" (the hub could not store it, or timed out) it tries
again `RETRY_DELAY` seconds later. `cut_first_upload` closes the connection halfway through
the first upload (the hub then lists nothing; the appliance uploads it again after it
reconnects: uploads restart, they never resume).

It plugs into a `Session` as a hook (`SessionHook`): the session hands it the messages of the
feature and says when the link is up and when it went.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tarfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from mykerio.agent.profile import Profile
from mykerio.clock import Clock, SystemClock
from mykerio.protocol.backups import (
    FEATURE,
    MAX_EVERY_HOURS,
    UPLOAD_FRAME_BYTES,
    UPLOAD_KIND,
    UploadMeta,
)
from mykerio.protocol.envelope import Envelope, JsonValue
from mykerio.protocol.errors import CloseCode
from mykerio.protocol.stream_link import StreamError

if TYPE_CHECKING:
    from mykerio.agent.session import Session

# The simulator's own answer deadline for `backup_stored` after its last byte (seconds).
STORED_TIMEOUT = 60.0
MESSAGE_TYPES = frozenset({"backup_now", "backup_refused", "backup_stored", "backup_settings"})
# Refusals that say "later": the appliance tries again after RETRY_DELAY seconds (the others —
# too large, bad facts — would only fail again, and the next scheduled backup tries anew).
RETRY_CODES = frozenset({"store_failed", "timeout", "upload_running", "no_answer"})
RETRY_DELAY = 300.0

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class BackupOptions:
    """How the simulated appliance backs up ("Save configuration to MyKerio")."""

    enabled: bool = True
    every: float = 0.0  # the schedule, seconds; 0: only on "Back up now" (the CLI: a day)
    size: int = 0  # pad the archive up to this many bytes (0: just the configuration, a few KB)
    certificates: bool = True
    cut_first_upload: bool = False  # close the connection halfway through the first upload


@dataclass(slots=True)
class BackupRecord:
    """What the appliance knows of its backups (the admin page and the tests read it)."""

    state: str = "ok"  # ok, in_progress, failed
    message: str = ""
    stored: list[str] = field(default_factory=list)  # ids the hub answered in `backup_stored`
    refusals: list[tuple[str, str]] = field(default_factory=list)  # (code, message)
    uploads: int = 0  # uploads started
    cut: int = 0  # uploads cut by a closed connection


def configuration_archive(
    profile: Profile, name: str, created_at: datetime, size: int = 0, certificates: bool = True
) -> bytes:
    """A tar.gz of the appliance's configuration files, at least `size` bytes."""
    stamp = created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    files: dict[str, bytes] = {
        "winroute.cfg": (
            f'<?xml version="1.0"?>\n<config product="{profile.product}" '
            f'version="{profile.version}" saved="{stamp}">\n'
            f'  <host name="{name}"/>\n  <interfaces>\n'
            '    <interface id="eth0" name="Internet" mode="dhcp"/>\n'
            '    <interface id="eth1" name="LAN" address="192.168.1.1/24"/>\n'
            "  </interfaces>\n  <trafficRules>\n"
            + "".join(f'    <rule id="{i}" name="Rule {i}" action="allow"/>\n' for i in range(40))
            + "  </trafficRules>\n</config>\n"
        ).encode(),
        "UserDB.cfg": "".join(
            f"user{i}:x:{1000 + i}:Staff member {i}\n" for i in range(50)
        ).encode(),
        "host.cfg": f"hostname={name}\ntimezone=Europe/Prague\nsaved={stamp}\n".encode(),
    }
    if certificates:
        files["sslcert/server.crt"] = (
            b"-----BEGIN CERTIFICATE-----\n"
            + os.urandom(600).hex()[:1200].encode()
            + b"\n-----END CERTIFICATE-----\n"
        )
        files["sslcert/server.key"] = (
            b"-----BEGIN PRIVATE KEY-----\n"
            + os.urandom(400).hex()[:800].encode()
            + b"\n-----END PRIVATE KEY-----\n"
        )
    archive = _tar_gz(files, created_at)
    if size > len(archive):
        # Incompressible: the archive grows by about as much as the padding.
        files["statistics.dat"] = os.urandom(size - len(archive) - 600)
        archive = _tar_gz(files, created_at)
    return archive


def _tar_gz(files: dict[str, bytes], created_at: datetime) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = int(created_at.timestamp())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class ApplianceBackups:
    """One simulated appliance's backups; a `SessionHook` of each of its sessions."""

    message_types = MESSAGE_TYPES

    def __init__(
        self,
        profile: Profile,
        name: Callable[[], str],
        options: BackupOptions | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._profile = profile
        self._sleep = sleep
        self._name = name
        self.options = options or BackupOptions()
        self._clock = clock or SystemClock()
        self.record = BackupRecord()
        # Told each state it reports (the notifications hook raises `backup_failed`).
        self.state_listener: Callable[[str, str], None] | None = None
        self._session: Session | None = None
        self._task: asyncio.Task[None] | None = None
        self._schedule: asyncio.Task[None] | None = None
        self._answers: dict[int, asyncio.Future[tuple[str, str]]] = {}
        self._pending: str | None = None  # the reason of a cut upload, sent again when linked
        self._retry: asyncio.Task[None] | None = None  # after a refusal that says "later"
        self._changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[BackupRecord], bool], timeout: float) -> None:
        """Until `predicate(record)` holds; `TimeoutError` after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while not predicate(self.record):
                self._changed.clear()
                await self._changed.wait()

    def to_json(self) -> dict[str, object]:
        """What the admin page shows: the switch, the state, the hub's last message."""
        return {
            "enabled": self.options.enabled,
            "every_hours": self.every_hours,
            "state": self.record.state,
            "message": self.record.message,
            "stored": len(self.record.stored),
        }

    def set_enabled(self, enabled: bool) -> None:
        """Tick or untick "Save configuration to MyKerio"."""
        self.apply_settings(enabled, self.every_hours)

    @property
    def every_hours(self) -> int:
        """The schedule in whole hours as the hub sees it (0: only when asked)."""
        return round(self.options.every / 3600)

    def apply_settings(self, enabled: bool, every_hours: int) -> None:
        """New backup settings (from the admin page or the hub's `backup_settings`): the
        schedule starts over and the hub hears the settings now in effect."""
        every = self.options.every if every_hours == self.every_hours else every_hours * 3600.0
        self.options = replace(self.options, enabled=enabled, every=every)
        session = self._session
        if session is not None:
            if self._schedule is not None:
                self._schedule.cancel()
                self._schedule = None
            if self.options.every > 0:
                self._schedule = asyncio.ensure_future(self._scheduled(session))
            self._send_settings(session)
        self._changed.set()

    def _send_settings(self, session: Session) -> None:
        body: dict[str, JsonValue] = {
            "enabled": self.options.enabled,
            "every_hours": min(self.every_hours, MAX_EVERY_HOURS),
        }
        session.send(Envelope.new("backup_settings_state", body))

    def back_up_now(self, reason: str = "manual") -> bool:
        """Start an upload now (unless one is running or the link cannot carry one)."""
        session = self._session
        if session is None or not self.options.enabled or self._running():
            return False
        self._task = asyncio.ensure_future(self._upload(session, reason))
        return True

    # SessionHook.
    def linked(self, session: Session) -> None:
        """The session was welcomed; uploads may go if the hub chose the feature."""
        if FEATURE not in session.features or session.streams is None:
            return
        self._session = session
        self._send_settings(session)
        if self._pending is not None:
            reason, self._pending = self._pending, None
            self.back_up_now(reason)
        if self.options.every > 0:
            self._schedule = asyncio.ensure_future(self._scheduled(session))

    def message(self, session: Session, envelope: Envelope) -> None:
        """`backup_now`, `backup_refused` or `backup_stored` from the hub."""
        body = envelope.body
        if envelope.type == "backup_now":
            log.info("backup asked by MyKerio")
            self.back_up_now("manual")
            return
        if envelope.type == "backup_settings":
            enabled, every_hours = bool(body["enabled"]), int(str(body["every_hours"]))
            log.info("backup settings from MyKerio", enabled=enabled, every_hours=every_hours)
            self.apply_settings(enabled, every_hours)
            return
        stream_id = body.get("stream")
        answer = self._answers.get(stream_id) if isinstance(stream_id, int) else None
        if envelope.type == "backup_refused":
            code, message = str(body["code"]), str(body["message"])
            log.warning("MyKerio refused the backup", code=code, message=message)
            self.record.refusals.append((code, message))
            if answer is not None and not answer.done():
                answer.set_result((code, message))
        elif answer is not None and not answer.done():
            answer.set_result(("stored", str(body["backup_id"])))

    def unlinked(self) -> None:
        """The connection went: stop the schedule; a running upload is cut (and sent again)."""
        self._session = None
        for task in (self._schedule, self._retry):
            if task is not None:
                task.cancel()
        self._schedule = self._retry = None

    # Inside.
    def _running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _scheduled(self, session: Session) -> None:
        while True:
            await self._sleep(self.options.every)
            if self._session is not session:
                return
            self.back_up_now("scheduled")

    def _set(self, session: Session, state: str, message: str = "") -> None:
        self.record.state, self.record.message = state, message
        body: dict[str, JsonValue] = {"state": state}
        if message:
            body["message"] = message[:1000]
        session.send(Envelope.new("backup_state", body))
        if self.state_listener is not None:
            self.state_listener(state, message)
        self._changed.set()

    async def _upload(self, session: Session, reason: str) -> None:
        options = self.options
        created_at = self._clock.now().astimezone(UTC).replace(microsecond=0)
        data = configuration_archive(
            self._profile, self._name(), created_at, options.size, options.certificates
        )
        meta = UploadMeta(
            product=self._profile.product,
            version=self._profile.version,
            created_at=created_at,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            reason=reason,
            certificates=options.certificates,
        )
        streams = session.streams
        assert streams is not None
        self.record.uploads += 1
        cut = options.cut_first_upload and self.record.uploads == 1
        self._set(session, "in_progress")
        stream = streams.open(UPLOAD_KIND, meta.to_json())
        answer: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
        self._answers[stream.stream_id] = answer
        try:
            async with asyncio.timeout(STORED_TIMEOUT):
                await stream.accepted()
            for start in range(0, len(data), UPLOAD_FRAME_BYTES):
                if cut and start >= len(data) // 2:
                    log.info("cutting the connection in the middle of an upload")
                    session.close(CloseCode.GOING_AWAY, "cut")
                    raise StreamError(stream.stream_id, "link_closing")
                await stream.write(data[start : start + UPLOAD_FRAME_BYTES])
            stream.close()
            async with asyncio.timeout(STORED_TIMEOUT):
                outcome, detail = await answer
        except StreamError as error:
            if answer.done():  # refused up front: `backup_refused` came before the refusal
                outcome, detail = answer.result()
            else:
                self.record.cut += 1
                self._pending = reason  # sent again, from the start, once linked again
                self.record.state, self.record.message = "failed", "the upload was cut off"
                self._changed.set()
                log.info("backup upload cut", reason=error.reason)
                return
        except TimeoutError:
            outcome, detail = "no_answer", "MyKerio did not confirm the backup"
        finally:
            self._answers.pop(stream.stream_id, None)
        self._task = None  # (done: the next one may start as soon as the state says so)
        if outcome == "stored":
            self.record.stored.append(detail)
            log.info("backup saved to MyKerio", backup=detail, size=len(data))
            self._set(session, "ok")
        else:
            self._set(session, "failed", detail)
            if outcome in RETRY_CODES:
                self._retry = asyncio.ensure_future(self._again(session, reason))

    async def _again(self, session: Session, reason: str) -> None:
        await self._sleep(RETRY_DELAY)
        if self._session is session:
            self.back_up_now(reason)
