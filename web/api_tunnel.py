"""API: "Open administration" (guide 2.1, 2.8) — a ticket for the tunnel origin, and which
connected appliances can be opened.

Opening goes through the organization's actor (membership: another organization's appliance is
a 404; connection; the activity log entry with the member and their address). The ticket is
single-use, bound to the user, the appliance and the hub session, and lives at most 60 s
(`web.tunnel_sessions`); the tunnel origin redeems it (`web.tunnel_proxy`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tornado.web

from actors.organization import OrganizationActor
from mykerio.appliances.view import ApplianceView
from mykerio.errors import Conflict
from web.models.tunnel import AdministrationState, AdministrationStates, AdministrationTicket
from web.openapi import Answer, Operation, Route
from web.orgs import OrgHandler
from web.tunnel_origin import TunnelOrigin
from web.tunnel_sessions import TunnelGrant

TAG = "appliances"
OFF = "Remote administration is turned off on this appliance."
UNSUPPORTED = "This appliance cannot be administered through MyKerio."


class _TunnelHandler(OrgHandler):
    origin: TunnelOrigin

    def initialize(self, origin: TunnelOrigin, **kwargs: Any) -> None:  # type: ignore[override]
        """Store the tunnel origin."""
        super().initialize(**kwargs)
        self.origin = origin


class OpenAdministrationHandler(_TunnelHandler):
    """A ticket to open one appliance's administration."""

    openapi = {
        "post": Operation(
            '"Open administration": the tunnel address, with a single-use ticket (≤ 60 s);'
            " the activity log notes who, from where and which appliance",
            TAG,
            {201: Answer("Open this in a new tab", AdministrationTicket)},
            {404: "No such appliance", 409: "Not connected, or remote administration is off"},
        )
    }

    async def post(self, org_id: str, appliance_id: str) -> None:
        """Check, record, and hand out a ticket."""
        current = await self.current_session()
        state = self.origin.state(appliance_id)
        view: ApplianceView
        view, org_name = await self.org_call(
            org_id, OrganizationActor.open_administration, appliance_id, self.client
        )
        if state != "available":
            raise Conflict(OFF if state == "off" else UNSUPPORTED)
        user = current.user
        grant = TunnelGrant(
            user_id=user.id,
            email=user.email,
            name=user.full_name,
            org_id=org_id,
            org_name=org_name,
            appliance_id=view.id,
            appliance_name=view.name,
            hub_session=current.session.id_hash,
            session_expires_at=current.expires_at,
            hub_token=self.session_token(),
        )
        ticket = self.origin.sessions.issue(grant)
        url = f"{self.origin.public_url}/__mykerio/enter?ticket={ticket}"
        self.write_model(AdministrationTicket(url=url), 201)


class AdministrationStatesHandler(_TunnelHandler):
    """Which connected appliances of the organization can be opened."""

    openapi = {
        "get": Operation(
            "Connected appliances and whether their administration can be opened",
            TAG,
            {200: Answer("By appliance", AdministrationStates)},
            {404: "No such organization"},
        )
    }

    async def get(self, org_id: str) -> None:
        """List."""
        views: list[ApplianceView] = await self.org_call(org_id, OrganizationActor.appliances)
        states = [
            AdministrationState(appliance_id=view.id, state=self.origin.state(view.id))  # type: ignore[arg-type]
            for view in views
            if view.connected
        ]
        self.write_model(AdministrationStates(appliances=states))


def routes(
    org_route: Callable[[str, type[tornado.web.RequestHandler]], Route],
    origin: TunnelOrigin | None,
) -> list[Route]:
    """The routes of "Open administration" (none when `[tunnel] enabled` is off)."""
    if origin is None:
        return []
    base = "/api/v1/organizations/{org_id}"
    found = []
    for path, handler in (
        (f"{base}/administration", AdministrationStatesHandler),
        (f"{base}/appliances/{{appliance_id}}/administration", OpenAdministrationHandler),
    ):
        plain = org_route(path, handler)
        found.append(Route(plain.pattern, handler, {**plain.kwargs, "origin": origin}, path))
    return found
