"""The relay part of an organization's actor: which of its appliances may use the notification
relay, by key, so that members see each one's quota, refusals and blacklisted recipients (the
counts themselves are the relay actor's)."""

from __future__ import annotations

from actors.organization.core import OrganizationCore
from mykerio.models import User
from mykerio.protocol.identity import public_key_id
from mykerio.relay.submission import RelayAppliance

RELAY_PRODUCTS = ("control", "operator")


class RelayPart(OrganizationCore):
    """The organization's relaying appliances."""

    async def relay_appliances(self, user: User) -> list[RelayAppliance]:
        """The organization's Kerio Control and Kerio Operator appliances with a key, by name."""
        self._require_member(user)
        found = await self._store.appliances.in_org(self.org_id)
        return sorted(
            (
                RelayAppliance(a.id, a.name, a.product, public_key_id(a.public_key))
                for a in found
                if a.public_key is not None and a.product in RELAY_PRODUCTS
            ),
            key=lambda appliance: (appliance.name.casefold(), appliance.appliance_id),
        )
