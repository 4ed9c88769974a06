"""The appliance's link to MyKerio: the reconnect loop, and the settings its admin page drives.

`ApplianceLink.run` keeps one `Session` to the hub at a time while "Enable communication with
MyKerio" is on: it connects at once on start and when the user enables the link, and after a
drop waits `mykerio.protocol.link.reconnect_delay` (0-5 s, then capped exponential backoff with
full jitter), what a busy hub's `503` `Retry-After` says (plus up to 1 s of its own jitter),
or the cap after a protocol error, or not at all after a removal (4009), a revoked key
(4003) or a refusal (4005) until the user acts. It owns what the appliance shows (`LinkView`:
phase, status text, the "add this appliance" link) and the user's actions: enable/disable,
flip status knobs (sent to the hub as `status`), "Remove from MyKerio". Every wait goes
through the injected `sleep`, every random draw through `uniform`, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import structlog
from tornado.web import Application

from mykerio.agent.backups import ApplianceBackups, BackupOptions
from mykerio.agent.box import apply_setup, check_setup
from mykerio.agent.definitions import LocalDefinitions
from mykerio.agent.endpoint import HubEndpoint, Timings
from mykerio.agent.identity import AgentState, IdentityStore, knobs_from
from mykerio.agent.notifications import ApplianceNotifications
from mykerio.agent.profile import BACKUP_PRODUCTS, Profile
from mykerio.agent.relay import ApplianceRelay
from mykerio.agent.session import Session, SessionHook
from mykerio.agent.tunnel import ApplianceTunnel
from mykerio.clock import Clock, SystemClock
from mykerio.errors import Conflict
from mykerio.protocol import link
from mykerio.protocol.envelope import JsonValue
from mykerio.protocol.errors import CloseCode
from mykerio.protocol.identity import public_key_id
from mykerio.protocol.status import Knobs

Phase = Literal["disabled", "connecting", "waiting", "pairing", "linked", "removed", "refused"]
Sleep = Callable[[float], Awaitable[None]]
Listener = Callable[["LinkView"], None]

REMOVED_TEXT = "Removed from MyKerio"
DISABLED_TEXT = "Communication with MyKerio is disabled"
_FORGETTING_CLOSES = frozenset({CloseCode.REVOKED_KEY, CloseCode.REMOVED})

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LinkView:
    """What the appliance's MyKerio settings page shows, as one immutable value."""

    phase: Phase
    status_text: str
    add_link: str | None
    state: AgentState
    public_key_id: str
    profile: Profile
    notice: str | None = None

    @property
    def connected(self) -> bool:
        """Whether an authenticated socket to the hub is open (pairing or linked)."""
        return self.phase in ("pairing", "linked")

    @property
    def enabled(self) -> bool:
        """Whether "Enable communication with MyKerio" is ticked."""
        return self.state.enabled

    @property
    def knobs(self) -> Knobs:
        """The status knobs as they are now."""
        return self.state.knobs

    def to_json(self) -> dict[str, object]:
        """The view as the admin UI's `GET /api/state` answers it."""
        return {
            "phase": self.phase,
            "status_text": self.status_text,
            "link": self.add_link,
            "connected": self.connected,
            "enabled": self.enabled,
            "added": self.state.added,
            "appliance_id": self.state.appliance_id,
            "name": self.state.name,
            "organization": self.state.organization,
            "knobs": self.knobs.to_json(),
            "notice": self.notice,
            "public_key_id": self.public_key_id,
            "product": self.profile.product,
            "product_title": self.profile.title,
            "version": self.profile.version,
            "host_name": self.profile.host_name,
            "serial": self.profile.serial,
            "admin": None if self.state.admin is None else self.state.admin.username,
        }


class Backoff:
    """Which reconnect attempt comes next and how long to wait before it."""

    def __init__(self, uniform: Callable[[], float]) -> None:
        self.uniform = uniform
        self.attempt = 0

    def reset(self) -> None:
        """Start counting again: the next wait is the first one after a drop (0-5 s)."""
        self.attempt = 0

    def next_delay(self, policy: link.ReconnectPolicy) -> float:
        """Seconds before the next attempt under `policy` ("backoff" or "at_cap")."""
        if policy == "at_cap":
            delay = link.BACKOFF_CAP
        else:
            delay = link.reconnect_delay(self.attempt, self.uniform)
        self.attempt += 1
        return delay


class ApplianceLink:
    """One appliance's link to one hub; `run` it as a task, drive it with the public methods."""

    def __init__(
        self,
        store: IdentityStore,
        profile: Profile,
        endpoint: HubEndpoint,
        *,
        sleep: Sleep = asyncio.sleep,
        uniform: Callable[[], float] = random.random,
        clock: Clock | None = None,
        timings: Timings | None = None,
        handshakes: asyncio.Semaphore | None = None,
        definitions: LocalDefinitions | None = None,
        backups: BackupOptions | None = None,
    ) -> None:
        self._store = store
        # A Kerio Control keeps local and shared definitions (a hook of its sessions).
        self.definitions = definitions or (
            LocalDefinitions() if profile.product == "control" else None
        )
        # "Save configuration to MyKerio" (a hook of every session; mykerio.agent.backups).
        self.backups = ApplianceBackups(
            profile,
            lambda: self._store.state.name or profile.host_name or "",
            backups,
            clock,
            sleep,
        )
        # The SMTP relay setting, "Test" and alerts (a hook of every session, pairing or
        # linked; mykerio.agent.relay).
        self.relay = ApplianceRelay(
            profile, lambda: self._store.state.name or profile.host_name or "", clock
        )
        # "Open administration": the hub's tunnel_http streams, answered by the admin UI.
        self.tunnel = ApplianceTunnel(
            lambda: _admin_application(self),
            lambda: (self._store.state.hub_key, self._store.state.appliance_id),
            remote_admin=profile.remote_admin,
            host_name=profile.host_name or "kerio",
            clock=clock,
        )
        self._profile = profile
        self._endpoint = endpoint
        self._sleep = sleep
        self._clock = clock or SystemClock()
        # Its status knobs (and failed backups) as notifications (mykerio.agent.notifications).
        self.notifications = ApplianceNotifications(
            lambda: self._store.state.knobs, self._clock.now
        )
        self.backups.state_listener = self.notifications.backup_state
        self._timings = timings or Timings()
        self._backoff = Backoff(uniform)
        self._handshakes = handshakes
        self._session: Session | None = None
        self._stopping = False
        self._wake = asyncio.Event()  # a user action the loop must look at
        self._changed = asyncio.Event()  # replaced on every change of the view
        self._listeners: list[Listener] = []
        self._phase: Phase = "connecting"
        self._add_link: str | None = None
        self._problem: str | None = None
        self._refusal: str | None = None
        self._notice: str | None = None
        self._next_delay = 0.0
        self._restarting = False  # set up by MyKerio: restart instead of backing off
        self._view = self._make_view()

    @property
    def view(self) -> LinkView:
        """What the settings page shows now."""
        return self._view

    @property
    def session(self) -> Session | None:
        """The connection now open (its `version`, its `streams`), or None between them."""
        return self._session

    @property
    def backoff(self) -> Backoff:
        """The reconnect attempt counter (tests read `attempt`)."""
        return self._backoff

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with the new view after every change."""
        self._listeners.append(listener)

    async def wait_for(self, predicate: Callable[[LinkView], bool], timeout: float) -> LinkView:
        """The first view for which `predicate` holds; `TimeoutError` after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed
                if predicate(self._view):
                    return self._view
                await changed.wait()

    async def run(self) -> None:
        """Keep the link up while enabled, until `stop`."""
        delay: float | None = None  # None: connect at once
        while not self._stopping:
            self._wake.clear()
            state = self._store.state
            if not state.enabled or self._refusal is not None:
                idle: Phase = "removed" if state.removed else "disabled"
                self._publish("refused" if state.enabled else idle)
                await self._wake.wait()
                delay = None
                continue
            if delay is not None:
                self._next_delay = delay
                self._publish("waiting")
                await self._pause(delay)
                delay = None
                continue  # look again: the user may have acted, or `stop` been called
            if state.removed:  # enabled again after a removal: the old key stays revoked
                self._store.replace_key()
                self._store.update(dataclasses.replace(state, removed=False))
            self._publish("connecting")
            delay = await self._connect_once()

    def stop(self) -> None:
        """End `run`: close the socket as "going away" (the appliance restarts)."""
        self._stopping = True
        if self._session is not None:
            self._session.close(CloseCode.GOING_AWAY, "going_away")
        self._wake.set()

    def set_enabled(self, enabled: bool) -> LinkView:
        """Tick or untick "Enable communication with MyKerio"; off closes the socket (1000)."""
        state = self._store.state
        self._store.update(dataclasses.replace(state, enabled=enabled))
        self._refusal = None
        self._problem = None
        self._notice = None
        self._backoff.reset()
        if not enabled and self._session is not None:
            self._session.close(CloseCode.NORMAL, "disabled")
        log.info("link enabled" if enabled else "link disabled", appliance=self._key_id)
        self._wake.set()
        if not enabled:
            self._publish("removed" if state.removed else "disabled")
        elif self._phase in ("disabled", "removed", "refused"):
            self._publish("connecting")
        return self._view

    def set_knobs(self, values: Mapping[str, object]) -> LinkView:
        """Flip some status knobs (`InvalidInput` if unknown); the hub hears of any change."""
        state = self._store.state
        knobs = knobs_from(values, state.knobs)
        if self._store.update(dataclasses.replace(state, knobs=knobs)):
            self.relay.knobs_changed(state.knobs, knobs)
            if self._session is not None:
                self._session.send_status()
            self.notifications.knobs_changed(state.knobs, knobs)
            self._publish(self._phase)
        return self._view

    def remove(self) -> LinkView:
        """Remove from MyKerio: tell the hub (if linked), forget the link, stay disconnected.

        `Conflict` when the appliance is not added to MyKerio.
        """
        if not self._store.state.added:
            raise Conflict("this appliance is not added to MyKerio")
        session = self._session
        self._forget()
        if session is not None and not session.send_removed():
            session.close(CloseCode.NORMAL, "removed")
        self._wake.set()
        self._publish("removed")
        return self._view

    # SessionEvents: what the hub said on the current connection.

    def on_pairing(self, add_link: str) -> None:
        """Show the "add this appliance" link (never logged: it carries the pairing code)."""
        self._add_link = add_link
        self._problem = None
        log.info("waiting to be added to MyKerio", appliance=self._key_id)
        self._publish("pairing")

    def on_welcome(
        self, appliance_id: str, name: str, organization: str | None, hub_key: bytes
    ) -> None:
        """Pin the hub key, remember the appliance's id, name and organization."""
        state = self._store.state
        self._store.update(
            dataclasses.replace(
                state,
                appliance_id=appliance_id,
                name=name,
                organization=organization,
                hub_key=hub_key,
                removed=False,
            )
        )
        self._add_link = None
        self._problem = None
        log.info("linked to MyKerio", appliance=self._key_id, appliance_id=appliance_id)
        self._publish("linked")

    def on_rename(self, name: str) -> None:
        """Show the name given in the hub."""
        self._store.update(dataclasses.replace(self._store.state, name=name))
        self._publish(self._phase)

    def on_organization(self, name: str) -> None:
        """Show and store the new name of the organization it belongs to."""
        self._store.update(dataclasses.replace(self._store.state, organization=name))
        self._publish(self._phase)

    def on_remove(self) -> None:
        """Removed in the hub: forget the link and stay disconnected until enabled again."""
        log.info("removed from MyKerio by the hub", appliance=self._key_id)
        self._forget()
        self._publish("removed")

    def on_refused(self, code: str, message: str) -> None:
        """Show and log what the hub refused."""
        log.warning("the hub refused", appliance=self._key_id, code=code, message=message)
        self._notice = message
        self._publish(self._phase)

    def on_setup_check(self, body: Mapping[str, JsonValue]) -> Mapping[str, JsonValue]:
        """Check the administrator choice against the box's own; change nothing."""
        result = check_setup(self._store.state.admin, body)
        log.info("set-up checked by MyKerio", appliance=self._key_id, result=result.get("code"))
        return result

    def on_setup(self, body: Mapping[str, JsonValue]) -> Mapping[str, JsonValue]:
        """Check or create the box's administrator; on success, restart to apply it."""
        state = self._store.state
        outcome = apply_setup(state.admin, body)
        if outcome.ok:
            self._store.update(dataclasses.replace(state, admin=outcome.admin))
            self._restarting = True
        log.info("set up by MyKerio", appliance=self._key_id, result=outcome.result.get("code"))
        return outcome.result

    async def _connect_once(self) -> float | None:
        """Run one session; the delay before the next attempt, or None to wait for the user."""
        state = self._store.state
        session = Session(
            self._endpoint,
            self._profile,
            self._store.private_pem,
            state.hub_key,
            lambda: self._store.state.knobs,
            self,
            clock=self._clock,
            timings=self._timings,
            handshakes=self._handshakes,
            hooks=self._hooks(),
            stream_hooks=(self.tunnel,),
        )
        self._session = session
        try:
            ending = await session.run()
        finally:
            self._session = None
            self._add_link = None
        log.info(
            "connection to MyKerio ended",
            appliance=self._key_id,
            close_code=ending.close_code,
            problem=ending.problem,
        )
        done_at = ending.handshake_done_at
        if done_at is not None and ending.ended_at - done_at >= link.STABLE_AFTER:
            self._backoff.reset()
        if self._stopping or not self._store.state.enabled:
            return None  # the user closed it (disable, remove) or the process stops
        if self._restarting:
            self._restarting = False
            self._backoff.reset()
            self._problem = ending.problem
            return self._timings.setup_restart
        self._problem = ending.problem or "the connection ended"
        if ending.retry_after is not None:
            # The hub said when to come back (it spread its refusals already): not an attempt
            # that failed, so the backoff does not grow.
            return link.retry_after_delay(ending.retry_after, self._backoff.uniform)
        policy = link.reconnect_policy(ending.close_code)
        if policy != "never":
            return self._backoff.next_delay(policy)
        if ending.close_code in _FORGETTING_CLOSES:
            self._forget()
        else:
            self._refusal = ending.problem or "MyKerio refused this appliance"
        return None

    def _hooks(self) -> tuple[SessionHook, ...]:
        features: tuple[SessionHook, ...] = (self.backups, self.notifications)
        if self.definitions is not None:
            features += (self.definitions,)
        if self._profile.product in BACKUP_PRODUCTS:
            features += (self.relay,)
        return features

    async def _pause(self, delay: float) -> None:
        """Wait `delay` seconds through `sleep`, or less if the user acts or `stop` is called."""
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    def _forget(self) -> None:
        """Drop the link to the hub: id, name, organization, pinned key; disable the link."""
        self._store.update(self._store.state.forgotten())
        self._add_link = None
        self._problem = None

    @property
    def _key_id(self) -> str:
        return public_key_id(self._store.public_key)

    def _publish(self, phase: Phase) -> None:
        self._phase = phase
        view = self._make_view()
        if view == self._view:
            return
        self._view = view
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        for listener in self._listeners:
            listener(view)

    def _make_view(self) -> LinkView:
        state = self._store.state
        return LinkView(
            phase=self._phase,
            status_text=self._status_text(state),
            add_link=self._add_link if self._phase == "pairing" else None,
            state=state,
            public_key_id=public_key_id(self._store.public_key),
            profile=self._profile,
            notice=self._notice,
        )

    def _status_text(self, state: AgentState) -> str:
        phase = self._phase
        if phase == "linked":
            return f"Ready. You can manage this {self._profile.title} in MyKerio"
        if phase == "pairing":
            return f"Not added yet: open {self._add_link}"
        if phase == "removed" or (phase == "disabled" and state.removed):
            return REMOVED_TEXT
        if phase == "disabled":
            return DISABLED_TEXT
        if phase == "refused":
            return f"Not connected to MyKerio: {self._refusal}"
        if self._problem is None:
            return "Connecting to MyKerio…"
        if phase == "waiting":
            return (
                f"Not connected to MyKerio: {self._problem}. "
                f"Next attempt in {self._next_delay:.0f} s"
            )
        return f"Not connected to MyKerio: {self._problem}. Connecting again…"


def _admin_application(link: ApplianceLink) -> Application:
    """The admin UI's application, which answers the tunnel's requests in-process."""
    from mykerio.agent.admin_ui import make_app  # (the admin UI imports this module)

    return make_app(link)
