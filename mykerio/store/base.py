"""The store's interface in domain terms: one repository protocol per domain, and `Store`.

Both adapters (`mykerio.store.sqlite`, `mykerio.store.mongo`) implement these protocols and
pass the same contract tests (`tests/store/test_contract.py`). Rules shared by every adapter:

- datetimes going in must be timezone-aware (naive ones raise `InvalidInput`); they are stored
  at millisecond precision and come back as UTC (`datetime.UTC`);
- bytes round-trip exactly;
- a duplicate unique key (user id or email, appliance id or public key, backup id) raises
  `Conflict`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from mykerio.models import Appliance, Backup, User

OperationObserver = Callable[[str, float], None]
"""Called after every repository operation with its name (`"users.add"`) and its seconds."""


class UserRepository(Protocol):
    """Hub accounts; emails are unique regardless of case."""

    async def add(self, user: User) -> User:
        """Store a new user and return it as stored; `Conflict` if the id or email is taken."""
        ...

    async def by_email(self, email: str) -> User | None:
        """The user with this email, compared case-insensitively, or `None`."""
        ...

    async def by_id(self, user_id: str) -> User | None:
        """The user with this id, or `None`."""
        ...


class ApplianceRepository(Protocol):
    """Appliances, each identified by its unique public key."""

    async def add(self, appliance: Appliance) -> Appliance:
        """Store a new appliance and return it as stored; `Conflict` if id or key is taken."""
        ...

    async def by_id(self, appliance_id: str) -> Appliance | None:
        """The appliance with this id, or `None`."""
        ...

    async def record_hello(
        self, public_key: bytes, *, product: str, version: str, ip: str, seen_at: datetime
    ) -> Appliance:
        """Atomically insert or update the appliance with this key and return it after the write.

        An unknown key becomes a new appliance (new id, no organization, named after its
        product, created and last seen at `seen_at`); a known one gets the new product, version
        and IP. Either way it is `"green"` and last seen at `seen_at`. Concurrent calls for one
        new key create exactly one appliance.
        """
        ...

    async def set_status(self, appliance_id: str, status: str, at: datetime) -> Appliance:
        """Set the status, learned at `at` (which becomes `last_seen`); `NotFound` if unknown."""
        ...


class BackupRepository(Protocol):
    """Configuration backups, a bounded number kept per appliance."""

    async def add_keep_newest(self, backup: Backup, keep: int) -> list[str]:
        """Store `backup`, then delete all but the `keep` newest of its appliance's backups.

        Returns the ids this call removed. Newest means latest `created_at`, ties broken by the
        greater id. `keep` must be at least 1.
        """
        ...

    async def newest(self, appliance_id: str, limit: int) -> list[Backup]:
        """At most `limit` (at least 1) backups of the appliance, newest first."""
        ...

    async def content(self, backup_id: str) -> bytes:
        """The bytes of one backup; `NotFound` if it does not exist (any more)."""
        ...


class Store(Protocol):
    """An open store: the repositories plus health and shutdown."""

    @property
    def kind(self) -> str:
        """Which adapter this is: `"sqlite"` or `"mongodb"`."""
        ...

    @property
    def users(self) -> UserRepository:
        """Hub accounts."""
        ...

    @property
    def appliances(self) -> ApplianceRepository:
        """Known appliances."""
        ...

    @property
    def backups(self) -> BackupRepository:
        """Appliance configuration backups."""
        ...

    async def ping(self) -> None:
        """Return once the backend answers; raise `Unavailable` if it cannot."""
        ...

    async def close(self) -> None:
        """Release connections and threads; calling it again does nothing."""
        ...
