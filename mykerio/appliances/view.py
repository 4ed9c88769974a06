"""`ApplianceView`: an appliance as the dashboard and the API show it."""

from __future__ import annotations

import dataclasses

from mykerio.models import Appliance


@dataclasses.dataclass(frozen=True, slots=True)
class ApplianceView:
    """What a member sees of one appliance: name, product, status and why."""

    id: str
    org_id: str
    name: str
    product: str
    version: str
    status: str
    reasons: tuple[str, ...]
    pending: int
    connected: bool
    ip: str
    last_seen: str

    @classmethod
    def of(cls, appliance: Appliance) -> ApplianceView:
        """The view of a stored appliance."""
        return cls(
            id=appliance.id,
            org_id=appliance.org_id,
            name=appliance.name,
            product=appliance.product,
            version=appliance.version,
            status=appliance.status,
            reasons=appliance.status_reasons,
            pending=appliance.pending_notifications,
            connected=appliance.connected,
            ip=appliance.ip,
            last_seen=appliance.last_seen.isoformat() if appliance.last_seen else "",
        )
