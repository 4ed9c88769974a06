"""ApplianceActor: one per connected appliance; owns its socket, last status and notifications.

The websocket handler only moves frames: it decodes them with `mykerio.protocol` and tells this
actor; everything the appliance is sent goes out through the `Link` the handler provides. The
actor turns status knobs into the dashboard's colour, stores changes (with a history of colour
changes), pings every 30 s, drops an appliance silent for 90 s, and reports every change upward
to its organization with a `tell` (never an ask: children tell, parents ask).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Protocol

from actors.runtime import LoopActor, LoopRuntime
from actors.supervisor import Cancellable, Scheduler
from mykerio.appliances.view import ApplianceView
from mykerio.clock import Clock
from mykerio.models import Appliance, StatusChange, sequential_id
from mykerio.protocol.envelope import Envelope
from mykerio.protocol.errors import CloseCode
from mykerio.protocol.link import PING_INTERVAL, SILENCE_LIMIT
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
    def frames(self) -> int:
        """How many frames arrived from the appliance so far (pongs are counted, not sent on)."""
        ...

    def hang_up(self, code: int, reason: str) -> None:
        """Send the close frame and drop the connection without waiting for the appliance's
        answer (the hub shutting down closes thousands at once within its deadline)."""
        ...


Report = Callable[[ApplianceView], None]
RemovedByAppliance = Callable[[str, str], None]


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
        schedule: Scheduler | None = None,
        ping_interval: float = PING_INTERVAL,
        silence_limit: float = SILENCE_LIMIT,
    ) -> None:
        super().__init__(runtime=runtime, name=name or f"appliance:{appliance.id}")
        self._appliance = appliance
        self._link = link
        self._store = store
        self._clock = clock
        self._report = report
        self._removed_by_appliance = removed_by_appliance
        self._schedule: Scheduler = schedule or runtime.loop.call_later
        self._ping_interval = ping_interval
        self._silence_limit = silence_limit
        self._knobs = Knobs()
        self._last_frame = clock.monotonic()
        self._frames_seen = link.frames
        self._timer: Cancellable | None = None
        self._closing = False

    async def on_start(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
        """Mark the appliance online and start pinging."""
        await self._save(connected=True)
        self._arm()

    def on_stop(self) -> None:
        """Stop pinging; if the hub is shutting down, tell the appliance it goes away (1001)."""
        if self._timer is not None:
            self._timer.cancel()
        if not self._closing:
            self._closing = True
            self._link.hang_up(CloseCode.GOING_AWAY, "going_away")

    def view(self) -> ApplianceView:
        """What the dashboard shows."""
        return ApplianceView.of(self._appliance)

    async def received(self, envelope: Envelope) -> None:
        """A frame from the appliance (already decoded and checked by the protocol module)."""
        self._last_frame = self._clock.monotonic()
        if envelope.type == "status":
            knobs = envelope.body.get("knobs")
            if isinstance(knobs, Mapping):  # the protocol module already checked its shape
                self._knobs = Knobs.from_json(knobs)
            version = envelope.body.get("version")
            await self._save(connected=True, version=version if isinstance(version, str) else None)
        elif envelope.type == "removed":
            # "Remove from MyKerio" on the appliance: the organization forgets it.
            self._closing = True
            self._removed_by_appliance(self._appliance.org_id, self._appliance.id)
            self._link.close(CloseCode.REMOVED, "removed")

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

    def organization_renamed(self, name: str) -> None:
        """Tell the appliance the new name of its organization."""
        self._link.send(Envelope.new("organization", {"name": sendable_name(name)}))

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
            pending=pending_notifications(self._knobs)
            if connected
            else before.pending_notifications,
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
        self.log.info("appliance status", status=status, connected=connected)
        self._report(self.view())

    def _arm(self) -> None:
        self._timer = self._schedule(self._ping_interval, self._tick)

    def _tick(self) -> None:
        frames = self._link.frames
        if frames != self._frames_seen:  # heard from since the last tick (pongs included)
            self._frames_seen = frames
            self._last_frame = self._clock.monotonic()
        if self._clock.monotonic() - self._last_frame >= self._silence_limit:
            self._link.close(CloseCode.TOO_SLOW, "silent")
            return
        if not self._link.send(Envelope.new("ping", {})):
            return
        self._arm()
