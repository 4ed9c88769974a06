"""ApplianceActor: one per connected appliance; owns its socket, last status and notifications.

The websocket handler only moves frames: it decodes them with `mykerio.protocol` and tells this
actor; everything the appliance is sent goes out through the `Link` the handler provides. The
actor turns status knobs into the dashboard's colour, stores changes (with a history of colour
changes), pings every 30 s, drops an appliance silent for 90 s (a timer due 90 s after the
last frame the socket heard; `error` `silent`, then 4008), and reports every change upward
to its organization with a `tell` (never an ask: children tell, parents ask).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Protocol

from pykka.messages import ProxyCall

from actors.clients import ActorClient
from actors.relay import RelayActor, RelayFrom, answer_relay_email
from actors.runtime import LoopActor, LoopRuntime
from actors.supervisor import Cancellable, Scheduler
from mykerio.appliances.view import ApplianceView
from mykerio.clock import Clock
from mykerio.models import Appliance, StatusChange, sequential_id
from mykerio.protocol.backups import FEATURE
from mykerio.protocol.definitions import FEATURE as DEFINITIONS
from mykerio.protocol.envelope import Envelope, JsonValue
from mykerio.protocol.errors import CloseCode, ProtocolError, close_code_for
from mykerio.protocol.identity import public_key_id
from mykerio.protocol.link import PING_INTERVAL, SILENCE_LIMIT
from mykerio.protocol.notifications import FEATURE as NOTIFICATIONS
from mykerio.protocol.notifications import (
    MAX_ACTIVE,
    Cleared,
    Notice,
    read_cleared,
    read_notice,
)
from mykerio.protocol.relay import FEATURE as RELAY
from mykerio.protocol.status import Knobs, colour, pending_notifications, reasons
from mykerio.protocol.text import sendable_name
from mykerio.store.base import Store


class Link(Protocol):
    """The appliance's socket as the actor sees it."""

    def send(self, envelope: Envelope) -> bool:
        """Queue a message; False if the socket's send queue is full (the link is then closed)."""
        ...

    def close(self, code: int, reason: str) -> None:
        """Close the socket."""
        ...

    @property
    def ip(self) -> str:
        """The address the appliance connected from."""
        ...

    @property
    def heard_at(self) -> float:
        """When the last frame arrived from the appliance (the hub clock's monotonic reading;
        pongs are noted there, not sent on)."""
        ...

    def ping_appliance(self) -> bool:
        """Send a liveness ping (a WebSocket ping frame on version 2, a JSON `ping` on 1);
        False if the socket is gone or its send queue full."""
        ...

    def hang_up(self, code: int, reason: str) -> None:
        """Send the close frame and drop the connection without waiting for the appliance's
        answer (the hub shutting down closes thousands at once within its deadline)."""
        ...


Report = Callable[[ApplianceView], None]
RemovedByAppliance = Callable[[str, str], None]
# A feature message for the organization (org id, appliance id, message): `definitions_*`.
FeatureReport = Callable[[str, str, Envelope], None]
FEATURE_MESSAGES = frozenset({"definitions_versions", "definitions_applied", "import_result"})
# The messages of feature `notifications` (docs/protocol.md 9.10), handled here.
NOTICE_MESSAGES = frozenset({"notification", "notification_cleared"})
# The appliance's own `backup_state` report: (the appliance, state, message).
BackupStateReport = Callable[[Appliance, str, str], None]
# The appliance's `backup_settings_state`: (the appliance, enabled, every how many hours).
BackupSettingsReport = Callable[[Appliance, bool, int], None]
# A notification raised or cleared (feature `notifications`): (the appliance, what).
NoticeReport = Callable[[Appliance, Notice | Cleared], None]


class ApplianceActor(LoopActor):
    """The hub's side of one appliance connection."""

    kind = "appliance"
    # A leaf: nothing asks it anything while it stops, so shutdown stops all of them at once.
    stop_together = True

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        appliance: Appliance,
        link: Link,
        store: Store,
        clock: Clock,
        report: Report,
        removed_by_appliance: RemovedByAppliance,
        feature_report: FeatureReport | None = None,
        schedule: Scheduler | None = None,
        ping_interval: float = PING_INTERVAL,
        silence_limit: float = SILENCE_LIMIT,
        coalesce: float = 0.0,
        features: Mapping[str, int] | None = None,
        backup_state: BackupStateReport | None = None,
        backup_settings: BackupSettingsReport | None = None,
        relay: Callable[[], ActorClient[RelayActor]] | None = None,
        notice_report: NoticeReport | None = None,
    ) -> None:
        super().__init__(runtime=runtime, name=name or f"appliance:{appliance.id}")
        # The protocol v2 features this connection negotiated (none on version 1).
        self._features: Mapping[str, int] = features or {}
        self._backup_state = backup_state
        self._backup_settings = backup_settings
        self._relay = relay  # the notification relay (None: `relay_email` is unexpected)
        self._notice_report = notice_report
        # This link's active notifications; `_notices_synced` once the appliance said which
        # of the earlier ones still hold (until then the stored count stays).
        self._notices: dict[str, Notice] = {}
        self._notices_synced = False
        self._appliance = appliance
        self._link = link
        self._store = store
        self._clock = clock
        self._report = report
        self._removed_by_appliance = removed_by_appliance
        self._feature_report = feature_report
        self._schedule: Scheduler = schedule or runtime.loop.call_later
        self._ping_interval = ping_interval
        self._silence_limit = silence_limit
        self._knobs = Knobs()
        self._last_frame = clock.monotonic()
        self._timer: Cancellable | None = None
        self._silence: Cancellable | None = None
        # Statuses within `coalesce` s of the last recorded one wait; the latest is recorded.
        self._coalesce = coalesce
        self._recorded_at: float | None = None
        self._flush: Cancellable | None = None
        self._held_version: str | None = None
        self._reported = False
        self._closing = False

    def on_start(self) -> None:
        """Start pinging. The stored state stays as it was (the last known one) until the
        appliance's first `status`: its colour is not known before, so none is invented."""
        self._arm()
        self._watch(self._silence_limit)

    def on_stop(self) -> None:
        """Stop pinging; if the hub is shutting down, tell the appliance it goes away (1001)."""
        self._stop_timers()
        if not self._closing:
            self._closing = True
            self._link.hang_up(CloseCode.GOING_AWAY, "going_away")

    def view(self) -> ApplianceView:
        """What the dashboard shows."""
        return ApplianceView.of(self._appliance)

    async def received(self, envelope: Envelope) -> None:
        """A frame from the appliance (already decoded and checked by the protocol module);
        one that a linked appliance may not send is answered `unexpected_message` and closes
        the link (docs/protocol.md, section 5)."""
        self._last_frame = self._clock.monotonic()
        try:
            await self._received(envelope)
        except ProtocolError as error:
            body: dict[str, JsonValue] = {"code": error.code, "message": error.message}
            self._link.send(Envelope.new("error", body, re=envelope.id))
            self._link.close(int(close_code_for(error)), error.code)

    async def _received(self, envelope: Envelope) -> None:
        kind = envelope.type
        if (kind in FEATURE_MESSAGES and DEFINITIONS not in self._features) or (
            kind in NOTICE_MESSAGES and NOTIFICATIONS not in self._features
        ):
            raise ProtocolError("unexpected_message", f"{kind} is not expected now")
        if kind == "notification_cleared" and ("id" in envelope.body) == (
            "except" in envelope.body
        ):
            raise ProtocolError(
                "bad_body", "notification_cleared has either id or except, not both"
            )
        if kind == "status":
            knobs = envelope.body.get("knobs")
            if isinstance(knobs, Mapping):  # the protocol module already checked its shape
                self._knobs = Knobs.from_json(knobs)
            version = envelope.body.get("version")
            if isinstance(version, str):
                self._held_version = version
            await self._record_status()
        elif kind in FEATURE_MESSAGES:
            # (Only from a connection that negotiated the feature: checked above.)
            if self._feature_report is not None:
                self._feature_report(self._appliance.org_id, self._appliance.id, envelope)
        elif kind == "backup_state":
            # (Dropped from a connection that did not negotiate `backups`.)
            if FEATURE in self._features and self._backup_state is not None:
                message = envelope.body.get("message", "")
                self._backup_state(self._appliance, str(envelope.body["state"]), str(message))
        elif kind == "backup_settings_state":
            # (Dropped from a connection that did not negotiate `backups`, like backup_state.)
            if FEATURE in self._features and self._backup_settings is not None:
                body = envelope.body
                every = body["every_hours"]
                hours = every if isinstance(every, int) else 0  # (checked: a whole number)
                self._backup_settings(self._appliance, body["enabled"] is True, hours)
        elif kind in NOTICE_MESSAGES:
            # (Only from a connection that negotiated the feature: checked above.)
            await self._notification(envelope)
        elif kind == "removed":
            # "Remove from MyKerio" on the appliance: the organization forgets it.
            self._closing = True
            self._removed_by_appliance(self._appliance.org_id, self._appliance.id)
            self._link.close(CloseCode.REMOVED, "removed")
        elif kind == "relay_email" and RELAY in self._features and self._relay is not None:
            appliance = self._appliance
            key_id = public_key_id(appliance.public_key) if appliance.public_key else ""
            sender = RelayFrom(key_id, appliance.name, appliance.org_id)
            await answer_relay_email(self._relay, self._link, envelope, sender)
        elif kind == "error":
            self._link.close(CloseCode.NORMAL, "peer_error")
        elif kind != "pong":  # (a version 1 pong is a sign of life, noted above)
            raise ProtocolError("unexpected_message", f"{kind} is not expected now")

    async def _notification(self, envelope: Envelope) -> None:
        change: Notice | Cleared
        if envelope.type == "notification":
            change = read_notice(envelope.body)
            if change.notice_id not in self._notices and len(self._notices) >= MAX_ACTIVE:
                message = f"at most {MAX_ACTIVE} notifications may be active"
                self._link.send(
                    Envelope.new("error", {"code": "too_many_notifications", "message": message})
                )
                return
            self._notices[change.notice_id] = change
        else:
            change = read_cleared(envelope.body)
            if change.notice_id is not None:
                self._notices.pop(change.notice_id, None)
            else:
                keep = set(change.keep)
                self._notices = {k: v for k, v in self._notices.items() if k in keep}
                self._notices_synced = True
        if self._notice_report is not None:
            self._notice_report(self._appliance, change)
        if self._reported and self._notices_synced and not self._closing:
            await self._save(connected=True)

    def _pending(self, before: Appliance) -> int:
        """The dashboard's "N notifications pending": this link's notifications once synced,
        else the knobs that are on (a version 1 link, or one without the feature)."""
        if NOTIFICATIONS in self._features:
            return len(self._notices) if self._notices_synced else before.pending_notifications
        return pending_notifications(self._knobs)

    async def _record_status(self) -> None:
        now = self._clock.monotonic()
        if self._flush is not None:
            return  # a burst: the held flush records the latest knobs
        if self._recorded_at is not None and now - self._recorded_at < self._coalesce:
            self._flush = self._schedule(self._recorded_at + self._coalesce - now, self._flush_due)
            return
        self._recorded_at = now
        version, self._held_version = self._held_version, None
        await self._save(connected=True, version=version)

    def _flush_due(self) -> None:
        self.actor_ref.tell(ProxyCall(attr_path=("flush_status",), args=(), kwargs={}))

    async def flush_status(self) -> None:
        """The coalescing window ended: record the latest status it held."""
        self._flush = None
        if not self._closing:
            await self._record_status()

    async def disconnected(self) -> None:
        """The socket closed: the appliance is offline (red) until it reconnects."""
        if not self._closing:
            self._closing = True
            await self._save(connected=False)
        self.stop()

    def rename(self, name: str) -> None:
        """Tell the appliance its new name."""
        self._appliance = dataclasses.replace(self._appliance, name=name)
        self._link.send(Envelope.new("rename", {"name": sendable_name(name)}))

    def send_feature(self, envelope: Envelope) -> None:
        """Send a feature's message (its organization built it, e.g. `definitions`)."""
        if not self._closing:
            self._link.send(envelope)

    def organization_renamed(self, name: str) -> None:
        """Tell the appliance the new name of its organization."""
        self._link.send(Envelope.new("organization", {"name": sendable_name(name)}))

    def back_up_now(self) -> bool:
        """Ask the appliance for a backup ("Back up now"); False if its connection has no
        `backups` feature (nothing of a feature goes to an appliance without it)."""
        if FEATURE not in self._features or self._closing:
            return False
        return self._link.send(Envelope.new("backup_now", {}))

    def send_backup_settings(self, enabled: bool, every_hours: int) -> bool:
        """Send the dashboard's backup settings; False if its connection has no `backups`
        feature."""
        if FEATURE not in self._features or self._closing:
            return False
        body: dict[str, JsonValue] = {"enabled": enabled, "every_hours": every_hours}
        return self._link.send(Envelope.new("backup_settings", body))

    def remove(self) -> None:
        """The hub removed it: say so and close (the key is already revoked)."""
        self._closing = True
        self._link.send(Envelope.new("remove", {}))
        self._link.close(CloseCode.REMOVED, "removed")

    def supersede(self) -> str:
        """A newer connection proved the same key: close this one; the address it came from
        (for the organization's activity log)."""
        self._closing = True
        self._link.close(CloseCode.SUPERSEDED, "superseded")
        return self._link.ip

    async def _save(self, *, connected: bool, version: str | None = None) -> None:
        before = self._appliance
        status = colour(connected, False, self._knobs)
        why = reasons(self._knobs, connected)
        self._appliance = await self._store.appliances.set_state(
            before.id,
            status=status,
            reasons=why,
            pending=self._pending(before) if connected else before.pending_notifications,
            connected=connected,
            ip=before.ip,
            at=self._clock.now(),
        )
        if version and version != before.version:
            self._appliance = dataclasses.replace(self._appliance, version=version)
        if (status, why) != (before.status, before.status_reasons):
            await self._store.status_history.add(
                StatusChange(
                    id=sequential_id(),  # ties of `at` list in order of change
                    appliance_id=before.id,
                    org_id=before.org_id,
                    at=self._clock.now(),
                    status=status,
                    reasons=why,
                )
            )
        if self._reported and _shown(self._appliance) == _shown(before):
            return  # nothing changed: nothing to log or tell (a repeated status)
        # The first save of a connection is always told: after a restart the organization
        # shows it offline whatever the store last said.
        self._reported = True
        self.log.info("appliance status", status=status, connected=connected)
        self._report(self.view())

    def _arm(self) -> None:
        self._timer = self._schedule(self._ping_interval, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self._link.ping_appliance():
            self._arm()

    def _watch(self, delay: float) -> None:
        self._silence = self._schedule(delay, self._check_silence)

    def _check_silence(self) -> None:
        """Due when the silence limit is up if nothing came since; else wait for the rest."""
        self._silence = None
        if self._closing:
            return
        heard = max(self._last_frame, self._link.heard_at)
        left = heard + self._silence_limit - self._clock.monotonic()
        if left > 0:
            self._watch(left)
            return
        self._stop_timers()
        limit = f"{self._silence_limit:g}"
        self._link.send(
            Envelope.new("error", {"code": "silent", "message": f"nothing heard for {limit} s"})
        )
        self._link.close(CloseCode.TOO_SLOW, "silent")

    def _stop_timers(self) -> None:
        for timer in (self._timer, self._silence, self._flush):
            if timer is not None:
                timer.cancel()
        self._timer = self._silence = self._flush = None


def _shown(appliance: Appliance) -> tuple[object, ...]:
    """What the dashboard shows of an appliance's live state."""
    return (
        appliance.status,
        appliance.status_reasons,
        appliance.pending_notifications,
        appliance.connected,
        appliance.version,
    )
