"""Adding an appliance to an organization by its pairing code, renaming and removing it.

Adding consumes the single-use pairing code the appliance showed in its "add this appliance"
link, creates the appliance in the organization and clears any earlier revocation of its key
(a new pairing is the only way back after a removal). Removing deletes the appliance and
revokes its key, so the appliance's reconnects are refused until it pairs again.
"""

from __future__ import annotations

from mykerio.accounts.throttling import Throttle
from mykerio.accounts.validation import FieldError
from mykerio.appliances.lookups import LOOKUP_LIMIT, LOOKUP_WINDOW, lookup_key
from mykerio.clock import Clock
from mykerio.errors import Conflict, NotFound
from mykerio.models import Appliance, new_id
from mykerio.protocol.pairing import normalise_pairing_code
from mykerio.protocol.text import NAME_CHARS, name_problem, tidy
from mykerio.security.tokens import token_hash
from mykerio.store.base import Store

MAX_NAME = NAME_CHARS
RESERVED_REASON = "Reserved for this organization; waiting for the box to connect"
# An appliance added by its code: grey until its first status (it is being welcomed now, or
# when it next connects), which is what the add API answers and the dashboard shows.
CONNECTING_REASON = "Connecting"


def clean_appliance_name(text: str) -> str:
    """The name tidied (`mykerio.protocol.text`) if it follows the one name rule the appliance
    link also checks; otherwise `FieldError` naming the rule broken."""
    name = tidy(text)
    problem = name_problem(name)
    if problem is not None:
        message = (
            "Enter a name for the appliance." if problem.rule == "required" else problem.message
        )
        raise FieldError("name", message, problem.rule)
    return name


def pairing_hash(code: str) -> str:
    """How a pairing code is stored: only its hash."""
    return token_hash(normalise_pairing_code(code))


class ApplianceRoster:
    """Store-side steps of managing an organization's appliances."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._throttle = Throttle(store, clock)

    async def add_by_code(self, org_id: str, code: str, name: str, user_id: str) -> Appliance:
        """Add the appliance whose pairing code this is to `org_id`.

        The lookup counts against `user_id`'s unknown-code throttle (shared with the add
        dialog's preview): `TooManyRequests` once the user has had too many failed lookups, and
        every well-formed code that finds nothing is one more.
        """
        clean = clean_appliance_name(name)
        key = lookup_key(user_id)
        await self._throttle.check(key, LOOKUP_LIMIT, LOOKUP_WINDOW)
        try:
            code_hash = pairing_hash(code)
        except Exception:  # noqa: BLE001 - any malformed code is the same answer to the user
            # Not counted, as in the preview: a text that is no code looks nothing up.
            raise FieldError(
                "code", "This code is not valid. Copy it again from the appliance."
            ) from None
        now = self._clock.now()
        pairing = await self._store.pairings.consume(code_hash, now)
        if pairing is None:
            await self._throttle.fail(key, LOOKUP_WINDOW)
            raise FieldError(
                "code", "This code is not valid any more. Open the appliance's link again."
            )
        return await self._store_new(
            Appliance(
                id=new_id(),
                org_id=org_id,
                product=pairing.product,
                version=pairing.version,
                name=clean,
                public_key=pairing.public_key,
                serial="",
                ip=pairing.ip,
                status="grey",
                status_reasons=(CONNECTING_REASON,),
                pending_notifications=0,
                created_at=now,
                last_seen=None,
                connected=False,
            )
        )

    async def add_box(
        self,
        org_id: str,
        *,
        serial: str,
        public_key: bytes,
        product: str,
        version: str,
        ip: str,
        name: str,
    ) -> Appliance:
        """Reserve a Kerio Control box found by its serial for `org_id` (grey until it connects).

        The box was set up over its waiting socket, whose proven key this is; it restarts to
        apply its new configuration and is welcomed when it connects with that key.
        """
        clean = clean_appliance_name(name)
        if await self._store.appliances.by_serial(serial) is not None:
            raise Conflict("This box is already added to MyKerio.")
        return await self._store_new(
            Appliance(
                id=new_id(),
                org_id=org_id,
                product=product,
                version=version,
                name=clean,
                public_key=public_key,
                serial=serial,
                ip=ip,
                status="grey",
                status_reasons=(RESERVED_REASON,),
                pending_notifications=0,
                created_at=self._clock.now(),
                last_seen=None,
                connected=False,
            )
        )

    async def _store_new(self, appliance: Appliance) -> Appliance:
        """Store a new appliance under its proven key, which a new pairing un-revokes."""
        assert appliance.public_key is not None
        if await self._store.appliances.by_public_key(appliance.public_key) is not None:
            raise Conflict("This appliance is already added to MyKerio.")
        await self._store.appliances.unrevoke(appliance.public_key)
        return await self._store.appliances.add(appliance)

    async def rename(self, appliance_id: str, name: str) -> Appliance:
        """Give the appliance a new name."""
        return await self._store.appliances.rename(appliance_id, clean_appliance_name(name))

    async def remove(self, appliance_id: str) -> Appliance:
        """Delete the appliance and revoke its key."""
        removed = await self._store.appliances.remove(appliance_id)
        if removed is None:
            raise NotFound(f"appliance {appliance_id}")
        return removed
