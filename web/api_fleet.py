"""API: the appliances of every organization the logged-in user belongs to, in one answer.

The dashboard's Appliances page lists them all, grouped under their organizations; each
organization's list comes from its own actor, asked in parallel.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from actors.accounts import AccountsActor
from actors.organization import OrganizationActor
from mykerio.appliances.view import ApplianceView
from mykerio.errors import Forbidden, NotFound
from mykerio.models import Organization, User
from web.openapi import op
from web.orgs import OrgHandler

TAG = "appliances"


class FleetHandler(OrgHandler):
    """Lists the appliances of all the user's organizations, organization by organization."""

    openapi = {
        "get": op(
            "The appliances of every organization you belong to: `organizations`, by name, "
            "each with its `id`, `name` and `appliances` (by name, as the per-organization list)",
            TAG,
            {"200": "Organizations with their appliances"},
        )
    }

    async def get(self) -> None:
        """List."""
        current = await self.current_session()
        organizations: list[Organization] = await self.call(
            current.user.id, AccountsActor.my_organizations, current.user
        )
        lists = await asyncio.gather(*(self._appliances(current.user, o) for o in organizations))
        self.write_json(
            {
                "organizations": [
                    fleet_json(org, views)
                    for org, views in zip(organizations, lists, strict=True)
                    if views is not None
                ]
            }
        )

    async def _appliances(self, user: User, org: Organization) -> list[ApplianceView] | None:
        """The organization's appliances, or None when the user left it in the meantime."""
        try:
            views: list[ApplianceView] = await self.router.organization(org.id).call(
                OrganizationActor.appliances, user
            )
        except (NotFound, Forbidden):
            return None
        return views


def fleet_json(org: Organization, views: list[ApplianceView]) -> dict[str, Any]:
    """One organization's group as the list answers it."""
    return {"id": org.id, "name": org.name, "appliances": [dataclasses.asdict(v) for v in views]}
