"""Organizations full of appliances written straight into a hub's store, for the dashboard's
browser tests and benchmark: the organization actors load them when first asked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from mykerio.models import Appliance, Organization
from web.hub import Hub


@dataclass(frozen=True, slots=True)
class Seed:
    """One appliance to store: its name, product, colour, reasons, pending notifications."""

    name: str
    product: str = "control"
    status: str = "green"
    reasons: tuple[str, ...] = ()
    pending: int = 0
    version: str = "9.4.0"
    offline_minutes: int = 0  # > 0: offline, last seen this long ago


async def seed_organization(
    hub: Hub, user_id: str, name: str, appliances: list[Seed], now: datetime
) -> Organization:
    """A new organization of `user_id` named `name`, holding `appliances`."""
    store = hub.store
    assert store is not None
    org = await store.organizations.add(
        Organization(id=uuid.uuid4().hex, name=name, created_at=now)
    )
    await store.organizations.add_member(org.id, user_id, now)
    for seed in appliances:
        await store.appliances.add(
            Appliance(
                id=uuid.uuid4().hex,
                org_id=org.id,
                product=seed.product,
                version=seed.version,
                name=seed.name,
                public_key=None,
                serial="",
                ip="192.0.2.10",
                status=seed.status,
                status_reasons=seed.reasons,
                pending_notifications=seed.pending,
                created_at=now,
                last_seen=(now - timedelta(minutes=seed.offline_minutes))
                if seed.offline_minutes
                else None,
                connected=False,
            )
        )
    return org


KERIO = [
    Seed("control1.kerio.com", status="yellow", reasons=("Update available",), pending=2),
    Seed("Kerio Control Box NG100", status="red", reasons=("Offline",), offline_minutes=95),
    Seed("operator1.kerio.com", product="operator", version="2.5.0"),
    Seed("operator2.kerio.com", product="operator", version="2.5.0"),
    Seed("connect.kerio.com", product="connect", version="10.0.2"),
]
BRANCH = [
    Seed("gw-brno", status="red", reasons=("Licence expired",), pending=1),
    Seed("box-ostrava", status="grey", reasons=("Reserved for this organization",)),
    Seed("mail-brno", product="connect", version="10.0.2"),
]
