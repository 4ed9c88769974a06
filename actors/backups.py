"""BackupActor: the hub's side of backup uploads and of the appliances' backup states.

A linked version 2 appliance with the `backups` feature opens a `backup_upload` stream
(docs/protocol.md, section 9.6); the socket's stream link hands it here. This actor decides at
once, before any byte is sent, whether to take it: the announced facts must be well formed,
the size within `[backups] max_bytes`, no other upload of that appliance running, and the
appliance under `[backups] uploads_per_hour` (counted on the hub's clock, in memory: a restarted
hub starts counting again). A refusal is a `backup_refused` message with a message the appliance
logs, then `stream_refuse`. An accepted upload is received by a task of its own — a long
transfer never keeps this actor busy — that seals the bytes into a temporary blob, checks size
and SHA-256, publishes (`BackupVault.publish`) and answers `backup_stored`, or `backup_refused`
and a stream reset. A cut upload (the link went) lists nothing; the appliance starts it again
after it reconnects.

It also keeps each appliance's last backup state (`ok`, `in_progress`, `failed` and its
message), from its own `backup_state` reports and from how its uploads ended, and publishes
every change on the bus.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from collections.abc import Mapping

from actors.clients import ActorClient
from actors.runtime import LoopActor, LoopRuntime
from mykerio.backups.events import BackupSettingsChanged, BackupStateChanged, BackupStored
from mykerio.backups.vault import BackupVault
from mykerio.bus import EventBus
from mykerio.clock import Clock
from mykerio.errors import DomainError
from mykerio.models import Appliance
from mykerio.protocol.backups import UPLOAD_WINDOW, UploadMeta, read_meta
from mykerio.protocol.envelope import Envelope, JsonValue, encode
from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.stream_link import Stream, StreamError, StreamLink
from mykerio.protocol.streams import RefuseReason
from mykerio.store.base import Store

HOUR = 3600.0
MIB = 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class BackupState:
    """An appliance's backup state as the dashboard shows it."""

    state: str  # ok, in_progress, failed
    message: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class BackupSettings:
    """An appliance's backup settings as it reported them: "Save configuration to MyKerio"
    and every how many hours it backs up on its own (0: only when asked)."""

    enabled: bool
    every_hours: int


@dataclasses.dataclass(frozen=True, slots=True)
class BackupLimits:
    """The `[backups]` settings."""

    max_bytes: int = 64 * MIB
    uploads_per_hour: int = 10
    idle_timeout: float = 60.0


class BackupActor(LoopActor):
    """Takes or refuses backup uploads, receives them, and knows each appliance's state."""

    kind = "backups"

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        store: Store,
        vault: BackupVault,
        clock: Clock,
        bus: EventBus,
        limits: BackupLimits = BackupLimits(),
    ) -> None:
        super().__init__(runtime=runtime, name=name)
        self._store = store
        self._vault = vault
        self._clock = clock
        self._bus = bus
        self._limits = limits
        self._uploads: dict[str, asyncio.Task[None]] = {}
        self._accepted: dict[str, deque[float]] = {}
        self._states: dict[str, BackupState] = {}
        self._settings: dict[str, BackupSettings] = {}  # as each appliance last reported
        self._appliances: dict[str, Appliance] = {}  # (those with a state: for its events)
        self._loop = runtime.loop

    async def on_start(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
        """Remove what a hub that stopped mid-upload left behind (before any upload starts)."""
        removed = await self._store.backups.clean_leftovers()
        if removed:
            self.log.info("backup leftovers removed", count=removed)

    def on_stop(self) -> None:
        """Uploads end with the hub; their temporary blobs are dropped (nothing was listed)."""
        for task in self._uploads.values():
            task.cancel()

    async def upload_opened(
        self, appliance_id: str, link: StreamLink, stream: Stream, meta: Mapping[str, object]
    ) -> None:
        """An appliance opened a `backup_upload` stream: take it or refuse it now."""
        try:
            facts = read_meta(meta)
        except ProtocolError as error:
            _refuse(link, stream, "bad_meta", error.message, "forbidden")
            return
        appliance = await self._store.appliances.by_id(appliance_id)
        if appliance is None:
            _refuse(
                link, stream, "unknown_appliance", "This appliance is not in MyKerio.", "forbidden"
            )
            return
        limits = self._limits
        if facts.size > limits.max_bytes:
            size, cap = _size(facts.size), _size(limits.max_bytes)
            message = f"The backup is {size}; this MyKerio hub takes backups of at most {cap}."
            _refuse(link, stream, "too_large", message, "forbidden")
            return
        if appliance_id in self._uploads:
            message = "Another backup of this appliance is being uploaded; try again when it ends."
            _refuse(link, stream, "upload_running", message, "busy")
            return
        now = self._clock.monotonic()
        recent = self._accepted.setdefault(appliance_id, deque())
        while recent and recent[0] <= now - HOUR:
            recent.popleft()
        if len(recent) >= limits.uploads_per_hour:
            wait = max(1, round((recent[0] + HOUR - now) / 60))
            message = (
                f"This appliance uploaded {len(recent)} backups in the last hour, the most this "
                f"MyKerio hub takes; try again in {wait} minutes."
            )
            _refuse(link, stream, "too_many_backups", message, "busy")
            return
        recent.append(now)
        link.accept(stream, UPLOAD_WINDOW)
        self._set_state(appliance, BackupState("in_progress"))
        self._uploads[appliance_id] = self._loop.create_task(
            self._receive(appliance, link, stream, facts)
        )

    def upload_ended(self, appliance_id: str, state: BackupState) -> None:
        """An upload's task ended (told by the task itself)."""
        self._uploads.pop(appliance_id, None)
        appliance = self._appliances.get(appliance_id)
        if appliance is not None:
            self._set_state(appliance, state)

    async def state_reported(self, appliance: Appliance, state: str, message: str) -> None:
        """The appliance's own `backup_state` report."""
        self._set_state(appliance, BackupState(state, message))

    def settings_reported(self, appliance: Appliance, enabled: bool, every_hours: int) -> None:
        """The appliance's own backup settings (`backup_settings_state`), as last reported."""
        settings = BackupSettings(enabled, every_hours)
        if self._settings.get(appliance.id) == settings:
            return
        self._settings[appliance.id] = settings
        self._bus.publish(
            BackupSettingsChanged(appliance.org_id, appliance.id, enabled, every_hours)
        )

    def settings(self, appliance_ids: tuple[str, ...]) -> dict[str, BackupSettings]:
        """The last reported backup settings of each of these appliances that has some."""
        return {i: self._settings[i] for i in appliance_ids if i in self._settings}

    def states(self, appliance_ids: tuple[str, ...]) -> dict[str, BackupState]:
        """The last known backup state of each of these appliances that has one."""
        return {i: self._states[i] for i in appliance_ids if i in self._states}

    def uploading(self) -> tuple[str, ...]:
        """The appliances whose upload is running now."""
        return tuple(self._uploads)

    # Inside.
    def _set_state(self, appliance: Appliance, state: BackupState) -> None:
        self._appliances[appliance.id] = appliance
        if self._states.get(appliance.id) == state:
            return
        self._states[appliance.id] = state
        self._bus.publish(
            BackupStateChanged(appliance.org_id, appliance.id, state.state, state.message)
        )

    async def _receive(
        self, appliance: Appliance, link: StreamLink, stream: Stream, facts: UploadMeta
    ) -> None:
        me: ActorClient[BackupActor] = ActorClient(self.actor_ref, 0.0)
        outcome = BackupState("failed", "The upload did not finish.")
        try:
            outcome = await self._store_upload(appliance, link, stream, facts)
        finally:
            me.tell(BackupActor.upload_ended, appliance.id, outcome)

    async def _store_upload(
        self, appliance: Appliance, link: StreamLink, stream: Stream, facts: UploadMeta
    ) -> BackupState:
        upload = await self._vault.begin(appliance, facts)
        try:
            while True:
                async with asyncio.timeout(self._limits.idle_timeout):
                    data = await stream.read()
                if not data:
                    break
                await upload.sealed.write(data)
            backup, removed = await self._vault.publish(upload)
        except StreamError as error:
            await upload.sealed.blob.discard()
            # The link went, or the appliance reset it: no one to answer.
            self.log.info("backup upload cut", appliance=appliance.id, reason=error.reason)
            return BackupState("failed", "The upload was cut off; the appliance sends it again.")
        except TimeoutError:
            await upload.sealed.blob.discard()
            message = f"The upload sent nothing for {self._limits.idle_timeout:g} s."
            _answer(link, "backup_refused", stream, {"code": "timeout", "message": message})
            stream.reset("cancelled")
            return BackupState("failed", message)
        except DomainError as error:  # size or digest not as announced
            await upload.sealed.blob.discard()
            _answer(link, "backup_refused", stream, {"code": error.code, "message": error.message})
            stream.reset("stream_error")
            return BackupState("failed", error.message)
        except Exception as error:  # noqa: BLE001 - the store failed: refuse, the appliance retries
            await upload.sealed.blob.discard()
            self.log.warning(
                "backup not stored", appliance=appliance.id, error=type(error).__name__
            )
            message = "The hub could not store the backup; the appliance tries again later."
            _answer(link, "backup_refused", stream, {"code": "store_failed", "message": message})
            stream.reset("stream_error")
            return BackupState("failed", message)
        except BaseException:
            await asyncio.shield(upload.sealed.blob.discard())
            raise
        body: dict[str, JsonValue] = {
            "backup_id": backup.id,
            "size": backup.size,
            "sha256": backup.sha256,
        }
        _answer(link, "backup_stored", stream, body)
        stream.close()
        self.log.info("backup stored", appliance=appliance.id, size=backup.size)
        self._bus.publish(
            BackupStored(backup.org_id, backup.appliance_id, backup.id, tuple(removed))
        )
        return BackupState("ok")


def _size(size: int) -> str:
    """A size for people: `64 MiB`, `1.5 MiB`, `39 KiB`, `512 bytes`."""
    if size >= MIB:
        return f"{size / MIB:.1f}".removesuffix(".0") + " MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} bytes"


def _answer(link: StreamLink, kind: str, stream: Stream, body: dict[str, JsonValue]) -> None:
    """A message of the `backups` feature about `stream`, in the link's control lane."""
    link.send_control(encode(Envelope.new(kind, {"stream": stream.stream_id, **body})))


def _refuse(
    link: StreamLink, stream: Stream, code: str, message: str, reason: RefuseReason
) -> None:
    """`backup_refused` (what the appliance logs) ahead of the `stream_refuse`."""
    _answer(link, "backup_refused", stream, {"code": code, "message": message})
    link.refuse(stream, reason)
