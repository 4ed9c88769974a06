"""The sockets of unknown appliances that wait for a member to add them.

Found by public key (the add dialog's pairing code leads to a key) and, for Kerio Control
boxes, by the serial number they claim. A newer socket of the same key replaces an older one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mykerio.appliances.view import ApplianceView
from mykerio.organizations.events import ApplianceAdded
from mykerio.protocol.errors import CloseCode

if TYPE_CHECKING:
    from web.appliance_socket import ApplianceSocketHandler


class WaitingAppliances:
    """Sockets of unknown appliances waiting for a member to add them, by public key and, for
    Kerio Control boxes, by serial number."""

    def __init__(self) -> None:
        self._by_key: dict[bytes, ApplianceSocketHandler] = {}
        # Several keys may claim one serial (a forger beside the real box): keep them all, so
        # the serial flow can refuse to guess instead of sending credentials to the wrong one.
        self._by_serial: dict[str, dict[bytes, ApplianceSocketHandler]] = {}

    def add(self, key: bytes, socket: ApplianceSocketHandler) -> None:
        """Wait for `key` to be added."""
        older = self._by_key.get(key)
        if older is not None and older is not socket:
            # A newer connection proved the same key: the older one goes (4002), with its code.
            self.discard(key, older)
            older.close(CloseCode.SUPERSEDED, "superseded")
        self._by_key[key] = socket
        if socket.serial:
            self._by_serial.setdefault(socket.serial, {})[key] = socket

    def discard(self, key: bytes, socket: ApplianceSocketHandler) -> None:
        """Stop waiting (the socket closed)."""
        if self._by_key.get(key) is socket:
            del self._by_key[key]
        claims = self._by_serial.get(socket.serial)
        if claims is not None and claims.get(key) is socket:
            del claims[key]
            if not claims:
                del self._by_serial[socket.serial]

    def by_serial(self, serial: str) -> list[ApplianceSocketHandler]:
        """The waiting sockets that say they are the box with this serial number."""
        return list(self._by_serial.get(serial, {}).values())

    def close_all(self) -> None:
        """The hub is shutting down: waiting appliances should come back later (1001)."""
        for socket in list(self._by_key.values()):
            socket.close(CloseCode.GOING_AWAY, "going_away")
        self._by_key.clear()
        self._by_serial.clear()

    def appliance_added(self, event: ApplianceAdded) -> None:
        """A member added an appliance (an event on the bus): welcome its waiting socket."""
        if event.public_key:
            self.added(event.public_key, event.appliance)

    def added(self, key: bytes, view: ApplianceView) -> None:
        """A member added the appliance of `key`: welcome it on its waiting socket."""
        socket = self._by_key.get(key)
        if socket is not None:
            self.discard(key, socket)
            socket.welcome_added(view)
