"""The unknown appliances that wait for a member to add them.

Found by public key (the add dialog's pairing code leads to a key) and, for Kerio Control
boxes, by the serial number they claim. Each entry is a `WaitingAppliance`: the facts its
`hello` gave and the client of its connection's actor, which its connection adds and takes
back. A newer connection of the same key replaces an older one.
"""

from __future__ import annotations

from actors.connection import ConnectionActor, WaitingAppliance
from mykerio.appliances.view import ApplianceView
from mykerio.organizations.events import ApplianceAdded
from mykerio.protocol.errors import CloseCode


class WaitingAppliances:
    """Unknown appliances waiting for a member to add them, by public key and, for Kerio Control
    boxes, by serial number."""

    def __init__(self) -> None:
        self._by_key: dict[bytes, WaitingAppliance] = {}
        # Several keys may claim one serial (a forger beside the real box): keep them all, so
        # the serial flow can refuse to guess instead of sending credentials to the wrong one.
        self._by_serial: dict[str, dict[bytes, WaitingAppliance]] = {}

    def add(self, key: bytes, entry: WaitingAppliance) -> None:
        """Wait for `key` to be added."""
        older = self._by_key.get(key)
        if older is not None and older is not entry:
            # A newer connection proved the same key: the older one goes (4002), with its code.
            self.discard(key, older)
            older.close(CloseCode.SUPERSEDED, "superseded")
        self._by_key[key] = entry
        if entry.serial:
            self._by_serial.setdefault(entry.serial, {})[key] = entry

    def discard(self, key: bytes, entry: WaitingAppliance) -> None:
        """Stop waiting (the connection closed, was linked or set up)."""
        if self._by_key.get(key) is entry:
            del self._by_key[key]
        claims = self._by_serial.get(entry.serial)
        if claims is not None and claims.get(key) is entry:
            del claims[key]
            if not claims:
                del self._by_serial[entry.serial]

    def by_serial(self, serial: str) -> list[WaitingAppliance]:
        """The waiting appliances that say they are the box with this serial number."""
        return list(self._by_serial.get(serial, {}).values())

    def close_all(self) -> None:
        """The hub is shutting down: waiting appliances should come back later (1001)."""
        for entry in list(self._by_key.values()):
            entry.close(CloseCode.GOING_AWAY, "going_away")
        self._by_key.clear()
        self._by_serial.clear()

    def appliance_added(self, event: ApplianceAdded) -> None:
        """A member added an appliance (an event on the bus): welcome its waiting socket."""
        if event.public_key:
            self.added(event.public_key, event.appliance)

    def added(self, key: bytes, view: ApplianceView) -> None:
        """A member added the appliance of `key`: its connection welcomes it."""
        entry = self._by_key.get(key)
        if entry is not None:
            entry.connection.tell(ConnectionActor.welcome_added, view.id)
