"""One or many simulated appliances in one process, each with its state, link and admin UI.

`Fleet` builds N appliances from one `FleetOptions`: appliance *i* keeps its state in
`state_dir/i` (or `state_dir` itself when there is only one), offers host name `name-i`, and
serves its admin UI on `ui_port + i` (any free port when `ui_port` is 0; no UI when None).
`run_fleet` runs them until `stop` is set and reports each one's status text to `out`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import structlog

from mykerio.agent.admin_ui import AdminUi, start_admin_ui
from mykerio.agent.backups import BackupOptions
from mykerio.agent.box import BoxAdmin
from mykerio.agent.definitions import LocalDefinitions
from mykerio.agent.endpoint import HubEndpoint, Timings
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink, LinkView
from mykerio.agent.profile import Profile
from mykerio.protocol.identity import sign_factory

STOP_DEADLINE = 10.0
# Handshakes in flight at once per process: past about this many, TLS and signing on one core
# take longer than the hub's 10 s handshake deadline when a whole fleet starts together, and
# every attempt times out and is retried (measured: 2,500 at once stalled).
CONCURRENT_HANDSHAKES = 64

MakeLink = Callable[[IdentityStore, Profile, HubEndpoint], ApplianceLink]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FleetOptions:
    """What to simulate: a profile, the hub, where state lives, how many, which UI ports."""

    profile: Profile
    endpoint: HubEndpoint
    state_dir: Path
    count: int = 1
    # Handshakes in flight at once (0: no limit, like a real fleet of separate machines).
    handshakes: int = CONCURRENT_HANDSHAKES
    ui_port: int | None = 0
    ui_address: str = "127.0.0.1"
    # A box's local administrator before MyKerio sets it up (`--admin`); None: a factory box.
    admin: BoxAdmin | None = None
    # The box maker's private key (`--factory-key`): the box's serial and key are certified.
    factory_key_pem: bytes | None = None
    timings: Timings = dataclasses.field(default_factory=Timings)
    # A Kerio Control's local definitions at start (`--definitions FILE`), and whether it
    # refuses every shared-definitions push (`--refuse-definitions`, to test failures).
    definitions_file: Path | None = None
    refuse_definitions: bool = False
    # "Save configuration to MyKerio": schedule, size, the cut-upload flag (`--backup-*`).
    backups: BackupOptions = dataclasses.field(default_factory=BackupOptions)


@dataclass(slots=True)
class SimulatedAppliance:
    """One appliance of a fleet: its number, its link and its admin UI (if it has one)."""

    index: int
    link: ApplianceLink
    ui: AdminUi | None


class Fleet:
    """The appliances of one process; `start`, then `stop`."""

    def __init__(self, options: FleetOptions, make_link: MakeLink | None = None) -> None:
        if options.count < 1:
            raise ValueError("a fleet has at least one appliance")
        self.options = options
        self.appliances: list[SimulatedAppliance] = []
        self._handshakes = asyncio.Semaphore(options.handshakes) if options.handshakes > 0 else None
        self._make_link: MakeLink = make_link or (
            lambda store, profile, endpoint: ApplianceLink(
                store,
                profile,
                endpoint,
                timings=options.timings,
                handshakes=self._handshakes,
                definitions=local_definitions(options, profile),
                backups=options.backups,
            )
        )
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Load (or create) every appliance's state, start its link and its admin UI."""
        options = self.options
        for index in range(options.count):
            several = options.count > 1
            state_dir = options.state_dir / str(index) if several else options.state_dir
            profile = options.profile
            if several and profile.host_name is not None:
                profile = dataclasses.replace(profile, host_name=f"{profile.host_name}-{index}")
            store = IdentityStore(state_dir)
            if options.admin is not None and store.state.admin is None:
                store.update(dataclasses.replace(store.state, admin=options.admin))
            if options.factory_key_pem is not None and profile.serial is not None:
                # The factory's step: the maker signs this box's serial and key.
                signature = sign_factory(options.factory_key_pem, profile.serial, store.public_key)
                profile = dataclasses.replace(profile, factory_signature=signature)
            link = self._make_link(store, profile, options.endpoint)
            ui = None
            if options.ui_port is not None:
                port = options.ui_port + index if options.ui_port else 0
                ui = start_admin_ui(link, port, options.ui_address)
            self.appliances.append(SimulatedAppliance(index, link, ui))
            task = asyncio.create_task(link.run(), name=f"appliance-{index}")
            task.add_done_callback(_log_crash)
            self._tasks.append(task)

    async def stop(self) -> None:
        """Close every link as "going away" and every admin UI, within `STOP_DEADLINE`."""
        for appliance in self.appliances:
            appliance.link.stop()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=STOP_DEADLINE)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for appliance in self.appliances:
            if appliance.ui is not None:
                await appliance.ui.close()


async def run_fleet(options: FleetOptions, stop: asyncio.Event, out: TextIO | None) -> None:
    """Run the fleet until `stop` is set; write status changes and UI addresses to `out`."""
    fleet = Fleet(options)
    try:
        fleet.start()
        if out is not None:
            for appliance in fleet.appliances:
                _report(appliance, out, several=options.count > 1)
        await stop.wait()
    finally:
        await fleet.stop()


def _log_crash(task: asyncio.Task[None]) -> None:
    """Log an appliance whose link stopped with an error (the others keep running)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("appliance stopped", task=task.get_name(), exc_info=task.exception())


def _report(appliance: SimulatedAppliance, out: TextIO, *, several: bool) -> None:
    """Write the admin UI's address now and the status text whenever it changes."""
    prefix = f"[{appliance.index}] " if several else ""
    if appliance.ui is not None:
        _write(out, f"{prefix}Admin UI: {appliance.ui.url}")
    shown = [""]

    def status_changed(view: LinkView) -> None:
        if view.status_text != shown[0]:
            shown[0] = view.status_text
            _write(out, f"{prefix}MyKerio: {view.status_text}")

    status_changed(appliance.link.view)
    appliance.link.subscribe(status_changed)


def _write(out: TextIO, line: str) -> None:
    # What the appliance shows its user (the "add this appliance" link included), not a log.
    out.write(line + "\n")
    out.flush()


def local_definitions(options: FleetOptions, profile: Profile) -> LocalDefinitions | None:
    """A Kerio Control's definitions as the options say (None for other products)."""
    if profile.product != "control":
        return None
    if options.definitions_file is not None:
        return LocalDefinitions.from_file(
            options.definitions_file, refuse_apply=options.refuse_definitions
        )
    return LocalDefinitions(refuse_apply=options.refuse_definitions)
