"""The "Open administration" part of an organization's actor (guide 2.1, 2.8).

A member opens a connected appliance's own administration: this part checks membership (an
appliance of another organization answers the same 404 as one that does not exist), that the
appliance is connected, and writes the opening to the activity log (member, address,
appliance). The tunnel itself is the web layer's (web/tunnel_proxy.py).
"""

from __future__ import annotations

from actors.organization.core import OrganizationCore
from mykerio.accounts.context import Client
from mykerio.appliances.view import ApplianceView
from mykerio.errors import Conflict, NotFound
from mykerio.models import User

NOT_CONNECTED = (
    "The appliance is not connected to MyKerio; its administration opens once it is back."
)


class AdministrationPart(OrganizationCore):
    """Opening appliances' administration."""

    async def open_administration(
        self, user: User, appliance_id: str, client: Client
    ) -> tuple[ApplianceView, str]:
        """The appliance to open and the organization's name, once recorded; `NotFound` for
        an appliance not in this organization, `Conflict` for one not connected."""
        organization = self._require_member(user)
        view = self._roster.get(appliance_id)
        if view is None:
            raise NotFound(f"appliance {appliance_id}")
        if self._find_appliance(appliance_id) is None:
            raise Conflict(NOT_CONNECTED)
        await self._record(user, client, "administration_opened", view.name, "")
        return view, organization.name
