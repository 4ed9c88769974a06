"""API: the notification relay (guide 3.3, 5.1) — each appliance's window (n / 100), refusals
by reason and blacklisted recipients, for members of its organization; the whole blacklist and
its removal for the hub's operators (`[hub] operators`), 404 for everyone else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tornado.web

from actors.organization import OrganizationActor
from actors.relay import RelayActor
from mykerio.errors import NotFound
from mykerio.relay.submission import RelayAppliance, RelaySenderView
from web.auth import AccountHandler
from web.models.relay import (
    Blacklist,
    BlacklistedRecipientEntry,
    BlacklistEntryModel,
    RelayApplianceEntry,
    RelayList,
    RelayRefusals,
)
from web.openapi import Answer, Operation, Route
from web.orgs import OrgHandler

TAG = "relay"


def relay_entry(appliance: RelayAppliance, view: RelaySenderView) -> RelayApplianceEntry:
    """One appliance's relaying as the API shows it."""
    refused = dict(view.refused)
    return RelayApplianceEntry(
        appliance_id=appliance.appliance_id,
        name=appliance.name,
        product=appliance.product,
        sent=view.used,
        limit=view.limit,
        window_started_at=view.window_started_at,
        resets_at=view.resets_at,
        sent_total=view.sent_total,
        refused=RelayRefusals(
            quota=refused.get("quota", 0),
            blacklisted=refused.get("blacklisted", 0),
            bounced=refused.get("bounced", 0),
            format=refused.get("format", 0),
        ),
        blacklisted=[
            BlacklistedRecipientEntry(address=b.address, release_at=b.release_at)
            for b in view.blacklisted
        ],
        refused_altogether=view.refused_altogether,
    )


class RelayHandler(OrgHandler):
    """Each appliance's use of the notification relay."""

    openapi = {
        "get": Operation(
            "The organization's appliances' notification relay: emails in the current window "
            "(n / 100), refusals by reason, blacklisted recipients with their release time",
            TAG,
            {200: Answer("List", RelayList)},
        )
    }

    async def get(self, org_id: str) -> None:
        """List."""
        appliances: list[RelayAppliance] = await self.org_call(
            org_id, OrganizationActor.relay_appliances
        )
        keys = tuple(appliance.key_id for appliance in appliances)
        views = await self.router.relay().call(RelayActor.sender_views, keys)
        self.write_model(
            RelayList(
                appliances=[relay_entry(a, v) for a, v in zip(appliances, views, strict=True)]
            )
        )


class OperatorHandler(AccountHandler):
    """A handler for the hub's operators only; anyone else gets 404, as for no such page."""

    def initialize(  # type: ignore[override]
        self, operators: frozenset[str], **kwargs: Any
    ) -> None:
        """Store who the operators are (`[hub] operators`)."""
        super().initialize(**kwargs)
        self.operators = operators

    async def require_operator(self) -> None:
        """`NotFound` unless the logged-in user is an operator (`Unauthorized` if nobody is)."""
        current = await self.current_session()
        if current.user.email.strip().lower() not in self.operators:
            raise NotFound(f"page {self.request.path}")


class BlacklistHandler(OperatorHandler):
    """The relay's whole blacklist."""

    openapi = {
        "get": Operation(
            "The notification relay's whole blacklist, soonest released first (operators only)",
            TAG,
            {200: Answer("The blacklist", Blacklist)},
            {404: "Not an operator of this hub"},
        )
    }

    async def get(self) -> None:
        """List."""
        await self.require_operator()
        entries = await self.router.relay().call(RelayActor.blacklist)
        self.write_model(
            Blacklist(entries=[BlacklistEntryModel.model_validate(e) for e in entries])
        )


class BlacklistEntryHandler(OperatorHandler):
    """Removes one address from the blacklist."""

    openapi = {
        "delete": Operation(
            "Release one address from the blacklist now (operators only)",
            TAG,
            {204: Answer("Removed")},
            {404: "Not an operator, or the address is not blacklisted"},
        )
    }

    async def delete(self, address: str) -> None:
        """Remove."""
        await self.require_operator()
        removed = await self.router.relay().call(RelayActor.remove_blacklisted, address)
        if not removed:
            raise NotFound("no such address in the blacklist")
        self.set_status(204)
        self.finish()


def routes(
    org_route: Callable[[str, type[tornado.web.RequestHandler]], Route],
    operator_route: Callable[[str, type[tornado.web.RequestHandler]], Route],
) -> list[Route]:
    """The relay's routes (registered in `web.app`)."""
    return [
        org_route("/api/v1/organizations/{org_id}/relay", RelayHandler),
        operator_route("/api/v1/operator/relay/blacklist", BlacklistHandler),
        operator_route("/api/v1/operator/relay/blacklist/{address}", BlacklistEntryHandler),
    ]
