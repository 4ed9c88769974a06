"""The repository protocol of the organizations' shared definitions (one history per kind)."""

from __future__ import annotations

from typing import Protocol

from mykerio.models import DefinitionVersion


class DefinitionRepository(Protocol):
    """Each organization's versions of each kind; the newest is the current one.

    Versions of an (organization, kind) count up from 1. `add` is the only write and is atomic:
    of concurrent adds of the same version exactly one succeeds, the others get `Conflict`
    (the caller re-reads and tries again on top). Older versions than the newest `keep` are
    deleted after an add; the version numbers never restart.
    """

    async def add(self, version: DefinitionVersion, keep: int) -> None:
        """Store a new version, then keep only the `keep` newest of its kind; `Conflict` if
        that version exists."""
        ...

    async def current(self, org_id: str, kind: str) -> DefinitionVersion | None:
        """The newest version of that kind, or None if it never had one."""
        ...

    async def version(self, org_id: str, kind: str, version: int) -> DefinitionVersion | None:
        """One version, or None if there is none (any more)."""
        ...

    async def history(self, org_id: str, kind: str, limit: int) -> list[DefinitionVersion]:
        """At most `limit` versions of that kind, newest first."""
        ...

    async def delete_organization(self, org_id: str) -> int:
        """Delete every version of every kind of the organization; how many were deleted."""
        ...
