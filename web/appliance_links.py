"""What an appliance socket needs from the rest of the hub, and the words it shares with the
API's appliance handlers."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from actors.appliance import ApplianceActor
from actors.clients import ActorClient
from actors.connection import BOX_GONE as BOX_GONE  # (the API's words too)
from actors.connection import ConnectionContext
from actors.gate import Admission, GateActor
from actors.relay import RelayActor
from actors.runtime import LoopRuntime
from mykerio.appliances.admission import HandshakeBudget
from mykerio.clock import Clock, SystemClock
from mykerio.models import Appliance
from mykerio.protocol import identity
from mykerio.protocol.link import MESSAGE_BURST, MESSAGE_RATE
from web.appliance_streams import ApplianceStreams
from web.waiting_appliances import WaitingAppliances


@dataclasses.dataclass(frozen=True, slots=True)
class ApplianceLinks:
    """What the socket handler needs from the rest of the hub (built by the composition root)."""

    gate: Callable[[], ActorClient[GateActor]]
    admit: Callable[[bytes], Awaitable[Admission]]
    connect: Callable[[Appliance, Any], Awaitable[ActorClient[ApplianceActor]]]
    hub_key_pem: bytes
    nonces: identity.NonceLedger
    waiting: WaitingAppliances
    ask_timeout: float
    # The runtime the connection actors run on (one per socket, not supervised: each ends with
    # its socket).
    runtime: LoopRuntime
    # Box makers' keys ([hub] factory_keys): with any, only certified boxes are found by serial.
    factory_keys: tuple[bytes, ...] = ()
    # The notification relay, which any proven key may use, paired or not (None: no relay).
    relay: Callable[[], ActorClient[RelayActor]] | None = None
    # The hub's clock: when each appliance was last heard from (the silence rule).
    clock: Clock = dataclasses.field(default_factory=SystemClock)
    # Each connection's message budget ([appliances] message_burst, message_rate).
    message_burst: int = MESSAGE_BURST
    message_rate: float = MESSAGE_RATE
    # The stream links of linked version 2 appliances (features open their streams there).
    streams: ApplianceStreams = dataclasses.field(default_factory=ApplianceStreams)
    # Handshakes in progress at once ([appliances] handshakes_per_core); over it: 503.
    handshakes: HandshakeBudget = dataclasses.field(default_factory=lambda: HandshakeBudget(64))

    @property
    def context(self) -> ConnectionContext:
        """What each connection's actor needs."""
        return ConnectionContext(
            gate=self.gate,
            admit=self.admit,
            connect=self.connect,
            hub_key_pem=self.hub_key_pem,
            nonces=self.nonces,
            waiting=self.waiting,
            ask_timeout=self.ask_timeout,
            factory_keys=self.factory_keys,
            relay=self.relay,
        )
