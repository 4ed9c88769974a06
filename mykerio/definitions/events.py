"""Events of an organization's shared definitions, published on the bus by its actor.

Like `mykerio.organizations.events`, each names the organization and its members
(`user_ids`) and carries plain values only. A subscriber (a live dashboard, a test) reads the
current state after each one: the events say that something changed, not all of what.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DefinitionsChanged:
    """A kind has a new version (`kind`: the value of `Kind`)."""

    org_id: str
    user_ids: tuple[str, ...]
    kind: str
    version: int


@dataclass(frozen=True, slots=True)
class DefinitionsSyncChanged:
    """An appliance reported, applied or refused a kind (its sync state may differ)."""

    org_id: str
    user_ids: tuple[str, ...]
    appliance_id: str
    kind: str
