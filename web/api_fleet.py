"""API: the appliances of every organization the logged-in user belongs to, in one answer.

The dashboard's Appliances page lists them all, grouped under their organizations; each
organization's list comes from its own actor, asked in parallel, as the JSON array the actor
keeps encoded (built once per change, not per request: `mykerio.appliances.listing`).
"""

from __future__ import annotations

import asyncio
import json

from actors.accounts import AccountsActor
from actors.organization import OrganizationActor
from mykerio.errors import Forbidden, NotFound
from mykerio.models import Organization, User
from web.models.appliances import Fleet
from web.openapi import Answer, Operation
from web.orgs import OrgHandler

TAG = "appliances"


class FleetHandler(OrgHandler):
    """Lists the appliances of all the user's organizations, organization by organization."""

    openapi = {
        "get": Operation(
            "The appliances of every organization you belong to: `organizations`, by name, "
            "each with its `id`, `name` and `appliances` (by name, as the per-organization list)",
            TAG,
            {200: Answer("Organizations with their appliances", Fleet)},
        )
    }

    async def get(self) -> None:
        """List."""
        current = await self.current_session()
        organizations: list[Organization] = await self.call(
            current.user.id, AccountsActor.my_organizations, current.user
        )
        lists = await asyncio.gather(*(self._appliances(current.user, o) for o in organizations))
        groups = [
            _group(org, listed)
            for org, listed in zip(organizations, lists, strict=True)
            if listed is not None
        ]
        self.write_encoded(b'{"organizations":[' + b",".join(groups) + b"]}")

    async def _appliances(self, user: User, org: Organization) -> bytes | None:
        """The organization's appliances (a JSON array), or None when the user left it in the
        meantime."""
        try:
            return await self.router.organization(org.id).call(
                OrganizationActor.appliance_list, user
            )
        except (NotFound, Forbidden):
            return None


def _group(org: Organization, listed: bytes) -> bytes:
    """One organization's group as the list answers it (`OrganizationAppliances`)."""
    head = json.dumps({"id": org.id, "name": org.name}, ensure_ascii=False)[:-1]
    return head.encode() + b',"appliances":' + listed + b"}"
