"""GateActor: admits appliance connections — who a proven key is, and pairing codes for new ones.

The websocket handler does the handshake's cryptography with `mykerio.protocol`; once a key is
proven it asks the gate what that key is: a known appliance, a revoked key (refused), or new
(the gate issues a single-use pairing code, valid 15 minutes, of which only a hash is stored).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from actors.runtime import LoopActor, LoopRuntime
from mykerio.appliances.roster import pairing_hash
from mykerio.clock import Clock
from mykerio.models import Appliance, Pairing
from mykerio.protocol.pairing import PAIRING_VALID, add_link, new_pairing_code
from mykerio.store.base import Store


@dataclasses.dataclass(frozen=True, slots=True)
class Admission:
    """What a proven key is."""

    appliance: Appliance | None
    revoked: bool


@dataclasses.dataclass(frozen=True, slots=True)
class PairingOffer:
    """A pairing code for the appliance to show (never logged, never stored in clear)."""

    code: str
    link: str
    expires_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class PairingPreview:
    """What the "add this appliance" dialog shows about a code."""

    product: str
    version: str
    name_hint: str
    ip: str


class GateActor(LoopActor):
    """Admission of appliance connections."""

    kind = "gate"

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        store: Store,
        clock: Clock,
        public_url: str,
    ) -> None:
        super().__init__(runtime=runtime, name=name)
        self._store = store
        self._clock = clock
        self._public_url = public_url

    async def admit(self, public_key: bytes) -> Admission:
        """Known, revoked or new."""
        if await self._store.appliances.is_revoked(public_key):
            return Admission(appliance=None, revoked=True)
        return Admission(await self._store.appliances.by_public_key(public_key), revoked=False)

    async def offer_pairing(
        self, public_key: bytes, product: str, version: str, name_hint: str, ip: str
    ) -> PairingOffer:
        """A new pairing code for an unknown key (earlier codes for it stop working)."""
        code = new_pairing_code()
        now = self._clock.now()
        pairing = Pairing(
            code_hash=pairing_hash(code),
            public_key=public_key,
            product=product,
            version=version,
            name_hint=name_hint,
            ip=ip,
            created_at=now,
            expires_at=now + PAIRING_VALID,
        )
        await self._store.pairings.add(pairing)
        return PairingOffer(code, add_link(self._public_url, code), pairing.expires_at)

    async def preview(self, code_hash: str) -> PairingPreview | None:
        """Product and name of a still-valid code, for the add dialog."""
        pairing = await self._store.pairings.peek(code_hash, self._clock.now())
        if pairing is None:
            return None
        return PairingPreview(pairing.product, pairing.version, pairing.name_hint, pairing.ip)
