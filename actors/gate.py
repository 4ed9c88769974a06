"""GateActor: admits appliance connections — who a proven key is, and pairing codes for new ones.

The connection actor does the handshake's cryptography with `mykerio.protocol`; once a key is
proven, `admit` (a plain function over the store, so that connections never queue behind one
another in this actor) says what that key is: a known appliance, a revoked key (refused), or new
(the gate issues a single-use pairing code, valid 15 minutes, of which only a hash is stored).
A key that connects again while its code is still valid gets that same code back (it is kept
in clear only in this actor's memory, never in the store), so a reconnect never voids the code
a person may be typing. It also throttles people's lookups of appliances — pairing codes in
the add dialog, serial numbers in "Add new appliance" — so that neither can be guessed by
trying many.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from actors.runtime import LoopActor, LoopRuntime
from mykerio.accounts.throttling import Throttle
from mykerio.appliances.lookups import LOOKUP_LIMIT, LOOKUP_WINDOW, lookup_key
from mykerio.appliances.roster import pairing_hash
from mykerio.clock import Clock
from mykerio.errors import Conflict, NotFound
from mykerio.models import Appliance, Pairing
from mykerio.protocol.pairing import PAIRING_VALID, add_link, new_pairing_code
from mykerio.store.base import Store

# Set-ups a box refused (wrong administrator credentials), per user and per serial: guessing a
# box's password through the hub is as slow as guessing a code.
SETUP_REFUSAL_LIMIT = 5
# The remembered codes are swept of expired ones once they are this many (then twice as many).
PRUNE_AT = 1024
NO_SUCH_BOX = (
    "No Kerio Control box with this serial number is waiting to be added. Check the number on "
    "the box's label, and that the box is switched on and connected to the internet."
)


@dataclasses.dataclass(frozen=True, slots=True)
class Admission:
    """What a proven key is."""

    appliance: Appliance | None
    revoked: bool
    organization: str = ""  # the name of the appliance's organization, for `welcome`


@dataclasses.dataclass(frozen=True, slots=True)
class PairingOffer:
    """A pairing code for the appliance to show (never logged, never stored in clear)."""

    code: str
    link: str
    expires_at: datetime
    valid_for: float  # seconds left by the hub's clock


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
        self._throttle = Throttle(store, clock)
        # Each waiting key's code in clear, with its expiry: memory only, pruned as it grows.
        self._shown: dict[bytes, tuple[str, datetime]] = {}
        self._prune_at = PRUNE_AT

    async def admit(self, public_key: bytes) -> Admission:
        """Known, revoked or new."""
        return await admit(self._store, public_key)

    async def offer_pairing(
        self,
        public_key: bytes,
        product: str,
        version: str,
        name_hint: str,
        ip: str,
        replacing: datetime | None = None,
    ) -> PairingOffer | None:
        """The pairing code an unknown key shows: its code given earlier if that is still valid
        and unused (a reconnect), else a new one (earlier codes for the key stop working).

        With `replacing` (the expiry of the code the appliance shows), None while that code
        is still valid by the hub's clock, else a new code.
        """
        now = self._clock.now()
        if replacing is not None and now < replacing:
            return None
        if replacing is None:
            kept = await self._still_valid(public_key, now)
            if kept is not None:
                return kept
        code = new_pairing_code()
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
        self._remember(public_key, code, pairing.expires_at, now)
        return self._offer(code, pairing.expires_at, now)

    async def _still_valid(self, public_key: bytes, now: datetime) -> PairingOffer | None:
        shown = self._shown.get(public_key)
        if shown is None:
            return None
        code = shown[0]
        stored = await self._store.pairings.for_key(public_key, now)
        if stored is None or stored.code_hash != pairing_hash(code):
            # Used, withdrawn, expired or replaced (by another hub process): a new one then.
            self._shown.pop(public_key, None)
            return None
        return self._offer(code, stored.expires_at, now)

    def _remember(self, public_key: bytes, code: str, expires_at: datetime, now: datetime) -> None:
        self._shown[public_key] = (code, expires_at)
        if len(self._shown) >= self._prune_at:
            self._shown = {key: shown for key, shown in self._shown.items() if shown[1] > now}
            self._prune_at = max(PRUNE_AT, 2 * len(self._shown))

    def _offer(self, code: str, expires_at: datetime, now: datetime) -> PairingOffer:
        left = (expires_at - now).total_seconds()
        return PairingOffer(code, add_link(self._public_url, code), expires_at, left)

    async def preview(self, user_id: str, code_hash: str) -> PairingPreview | None:
        """Product and name of a still-valid code, for the add dialog (lookups throttled)."""
        key = lookup_key(user_id)
        await self._throttle.check(key, LOOKUP_LIMIT, LOOKUP_WINDOW)
        pairing = await self._store.pairings.peek(code_hash, self._clock.now())
        if pairing is None:
            await self._throttle.fail(key, LOOKUP_WINDOW)
            return None
        return PairingPreview(pairing.product, pairing.version, pairing.name_hint, pairing.ip)

    async def find_box(self, user_id: str, serial: str, claims: int) -> None:
        """Check a serial lookup that found `claims` waiting sockets; raise unless exactly one.

        `TooManyRequests` after too many failed lookups; `Conflict` if the box is already added
        or several sockets claim the serial (the hub will not guess which is the real box);
        `NotFound` (counted as a failure) if none does.
        """
        key = lookup_key(user_id)
        await self._throttle.check(key, LOOKUP_LIMIT, LOOKUP_WINDOW)
        for refusals in (_setup_key(user_id), _setup_key(serial)):
            await self._throttle.check(refusals, SETUP_REFUSAL_LIMIT, LOOKUP_WINDOW)
        # Whoever claims it now, an added box is linked already: never "find" it again.
        added = await self._store.appliances.by_serial(serial) is not None
        if claims == 1 and not added:
            return
        await self._throttle.fail(key, LOOKUP_WINDOW)  # every answer but "found" counts
        if added:
            raise Conflict("This box is already added to MyKerio.")
        if claims > 1:
            raise Conflict(
                "More than one appliance says it has this serial number, so MyKerio cannot "
                "tell which one is your box. Check the number, or add the box from its own "
                "administration with its 'add this appliance' link."
            )
        raise NotFound(NO_SUCH_BOX)

    async def withdraw_pairings(self, public_key: bytes) -> None:
        """The key's codes stop working (its box is being set up by serial)."""
        self._shown.pop(public_key, None)
        await self._store.pairings.delete_for_key(public_key)

    async def setup_refused(self, user_id: str, serial: str) -> None:
        """The box refused the credentials a user gave: count it for the user and the box."""
        for key in (_setup_key(user_id), _setup_key(serial)):
            await self._throttle.fail(key, LOOKUP_WINDOW)


async def admit(store: Store, public_key: bytes) -> Admission:
    """What a proven key is: known, revoked or new.

    It reads only the store, so each connection asks it itself, concurrently: through the one
    gate actor a reconnect storm's lookups queued in line, one at a time, behind requests whose
    sockets had closed already (issue 17).
    """
    if await store.appliances.is_revoked(public_key):
        return Admission(appliance=None, revoked=True)
    appliance = await store.appliances.by_public_key(public_key)
    org = None if appliance is None else await store.organizations.by_id(appliance.org_id)
    return Admission(appliance, revoked=False, organization="" if org is None else org.name)


def _setup_key(user_id_or_serial: str) -> str:
    return f"box-setup-refused:{user_id_or_serial}"
