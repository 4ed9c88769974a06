"""The store's interfaces for the appliance link: appliances, pairing codes and status history.

`mykerio.store.base.Store` gathers them with the others; the same rules (UTC datetimes at
millisecond precision, bytes round-trip exactly, `Conflict` on duplicates, `limit` at least 1)
apply. Backups are in `base` and outlive the appliances they belong to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mykerio.models import Appliance, Pairing, StatusChange


class ApplianceRepository(Protocol):
    """The organizations' appliances, and the public keys of removed ones.

    Unique among stored appliances: the id, the public key, and the serial when not empty. A
    removed appliance's key is revoked: no appliance may have it (`add` and `attach_key`
    refuse it) until `unrevoke`, which a new pairing does when it completes.

    Writes to one appliance come from the one actor that owns it: on MongoDB servers without
    atomic updates (FerretDB) two concurrent writes to one appliance can lose one's changes.
    """

    async def add(self, appliance: Appliance) -> Appliance:
        """Store a new appliance and return it as stored.

        `Conflict` if its id, its public key or its (non-empty) serial is taken, or its key is
        revoked; then nothing is stored.
        """
        ...

    async def by_id(self, appliance_id: str) -> Appliance | None:
        """The appliance with this id, or `None`."""
        ...

    async def by_public_key(self, public_key: bytes) -> Appliance | None:
        """The appliance with this public key, or `None`."""
        ...

    async def by_serial(self, serial: str) -> Appliance | None:
        """The appliance with this (non-empty) serial, or `None`; `""` finds nothing."""
        ...

    async def in_org(self, org_id: str) -> list[Appliance]:
        """The organization's appliances by name (case-insensitive, `name_key`), ties by id."""
        ...

    async def count_in_org(self, org_id: str) -> int:
        """How many appliances the organization has (0 for an unknown one)."""
        ...

    # The writes below raise `NotFound` for an unknown appliance id.

    async def attach_key(
        self,
        appliance_id: str,
        public_key: bytes,
        *,
        product: str,
        version: str,
        ip: str,
        at: datetime,
    ) -> Appliance:
        """Give a box reserved by serial the key it connected with; return it after the change.

        Also sets product, version and IP, and `last_seen` to `at`. Attaching the key the
        appliance already has just updates those. `Conflict` (and no change) if the appliance
        has another key, or this key is revoked or belongs to another appliance.
        """
        ...

    async def rename(self, appliance_id: str, name: str) -> Appliance:
        """Give the appliance a new name and return it."""
        ...

    async def set_state(
        self,
        appliance_id: str,
        *,
        status: str,
        reasons: tuple[str, ...],
        pending: int,
        connected: bool,
        ip: str,
        at: datetime,
    ) -> Appliance:
        """Record the appliance's live state learned at `at` and return it after the change.

        Sets status, reasons, pending notifications, `connected` and IP; `last_seen` becomes
        `at` when connected and stays as it was when not.
        """
        ...

    async def remove(self, appliance_id: str) -> Appliance | None:
        """Delete the appliance and revoke its key; return it, or `None` if it was not stored.

        Its serial becomes free; its backups and status history stay (delete the history
        with `StatusHistoryRepository.delete_for_appliance`). Of concurrent calls for one
        appliance one returns it.
        """
        ...

    async def remove_for_org(self, org_id: str) -> int:
        """`remove` every appliance of the organization; return how many this call removed."""
        ...

    async def is_revoked(self, public_key: bytes) -> bool:
        """Whether the key belonged to a removed appliance and was not unrevoked since."""
        ...

    async def unrevoke(self, public_key: bytes) -> bool:
        """Allow the key again, after a new pairing completed; `True` if it was revoked."""
        ...


class PairingRepository(Protocol):
    """Pairing codes of unknown appliances, known by the codes' hashes.

    A pairing is valid while `expires_at > now`. An appliance has one pairing at a time: adding
    one deletes the older ones of its key (concurrent adds for one key may leave more than one;
    `for_key` then gives the newest).
    """

    async def add(self, pairing: Pairing) -> Pairing:
        """Delete the other pairings of its key, store this one and return it as stored.

        `Conflict` if the code hash is taken (the key's other pairings may be gone by then).
        """
        ...

    async def peek(self, code_hash: str, now: datetime) -> Pairing | None:
        """The valid pairing with this code hash, without using it up, or `None`."""
        ...

    async def consume(self, code_hash: str, now: datetime) -> Pairing | None:
        """Atomically use the pairing up: delete it and return it if it is valid at `now`.

        An expired one is deleted too and gives `None`. Of concurrent calls at most one gets it.
        """
        ...

    async def for_key(self, public_key: bytes, now: datetime) -> Pairing | None:
        """The newest valid pairing of this key (latest `created_at`, ties by greater hash)."""
        ...

    async def delete_expired(self, now: datetime) -> int:
        """Delete every pairing with `expires_at <= now`; return how many."""
        ...

    async def delete_for_key(self, public_key: bytes) -> int:
        """Delete every pairing of this key (its codes stop working); return how many."""
        ...


class StatusHistoryRepository(Protocol):
    """Each appliance's status changes, newest first by `(at, id)`."""

    async def add(self, change: StatusChange) -> StatusChange:
        """Store a status change and return it as stored; `Conflict` if the id is taken."""
        ...

    async def for_appliance(
        self, appliance_id: str, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[StatusChange]:
        """At most `limit` changes of the appliance, newest first (ties by greater id).

        For the next page pass the `(at, id)` of the last change of this one as `before`:
        pages then neither repeat nor skip changes, also among changes with equal times.
        """
        ...

    async def delete_for_appliance(self, appliance_id: str) -> int:
        """Delete the appliance's status history; return how many changes went."""
        ...
