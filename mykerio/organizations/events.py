"""Events of one organization, published on the bus (`mykerio.bus`) by its actor.

Each event names the organization and the members it concerns (`user_ids`: who has a reason to
hear it; for `MemberRemoved`, the removed people), so that a subscriber fans out without asking
the organization again. They carry plain values only (ids, names, `ApplianceView`s, key bytes),
so that a broker between hub nodes can carry them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from mykerio.appliances.view import ApplianceView


@dataclass(frozen=True, slots=True)
class OrganizationRenamed:
    """The organization has a new name."""

    org_id: str
    user_ids: tuple[str, ...]
    name: str


@dataclass(frozen=True, slots=True)
class OrganizationDeleted:
    """The organization is gone; its members (`user_ids`) lost access to it."""

    org_id: str
    user_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MemberRemoved:
    """These people (`user_ids`) left or were removed: they lost access at once."""

    org_id: str
    user_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ApplianceAdded:
    """A member added an appliance (`public_key`: its key, so that a waiting socket of that key
    is welcomed; empty for none)."""

    org_id: str
    user_ids: tuple[str, ...]
    appliance: ApplianceView
    public_key: bytes = b""


@dataclass(frozen=True, slots=True)
class ApplianceChanged:
    """An appliance's status, name or facts changed."""

    org_id: str
    user_ids: tuple[str, ...]
    appliance: ApplianceView


@dataclass(frozen=True, slots=True)
class ApplianceRemoved:
    """An appliance left the organization (removed by a member or by itself)."""

    org_id: str
    user_ids: tuple[str, ...]
    appliance: ApplianceView


AccessLost = OrganizationDeleted | MemberRemoved
ApplianceEvent = ApplianceAdded | ApplianceChanged | ApplianceRemoved
