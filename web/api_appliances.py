"""API: an organization's appliances — list, add by pairing code, rename, remove."""

from __future__ import annotations

import dataclasses
from typing import Any

from pykka.messages import ProxyCall

from actors.gate import PairingPreview
from mykerio.appliances.roster import pairing_hash
from mykerio.appliances.view import ApplianceView
from mykerio.errors import InvalidInput, NotFound
from web.api_accounts import text
from web.appliance_socket import ApplianceLinks
from web.openapi import op
from web.orgs import OrgHandler

TAG = "appliances"


def view_json(view: ApplianceView) -> dict[str, Any]:
    """An appliance in API answers and live messages."""
    return dataclasses.asdict(view)


class AppliancesHandler(OrgHandler):
    """Lists an organization's appliances and adds new ones."""

    openapi = {
        "get": op("The organization's appliances with status, by name", TAG, {"200": "List"}),
        "post": op(
            "Add an appliance by the pairing code of its 'add this appliance' link",
            TAG,
            {"201": "Added", "400": "Invalid or used code, or invalid name"},
            body={"code": "string", "name": "string"},
        ),
    }

    async def get(self, org_id: str) -> None:
        """List."""
        views: list[ApplianceView] = await self.org_call(org_id, "appliances")
        self.write_json({"appliances": [view_json(v) for v in views]})

    async def post(self, org_id: str) -> None:
        """Add."""
        body = self.json_body()
        view: ApplianceView = await self.org_call(
            org_id, "add_appliance", text(body, "code"), text(body, "name"), self.client
        )
        self.write_json(view_json(view), 201)


class ApplianceHandler(OrgHandler):
    """Renames or removes one appliance."""

    openapi = {
        "patch": op(
            "Rename an appliance (the appliance is told)",
            TAG,
            {"200": "Renamed"},
            body={"name": "string"},
        ),
        "delete": op(
            "Remove an appliance: its key is revoked and its socket closed within 5 s",
            TAG,
            {"204": "Removed"},
        ),
    }

    async def patch(self, org_id: str, appliance_id: str) -> None:
        """Rename."""
        name = text(self.json_body(), "name")
        view = await self.org_call(org_id, "rename_appliance", appliance_id, name, self.client)
        self.write_json(view_json(view))

    async def delete(self, org_id: str, appliance_id: str) -> None:
        """Remove."""
        await self.org_call(org_id, "remove_appliance", appliance_id, self.client)
        self.set_status(204)
        self.finish()


class PairingPreviewHandler(OrgHandler):
    """Tells the add dialog what appliance a pairing code belongs to."""

    openapi = {
        "post": op(
            "Product, version and suggested name of the appliance of a pairing code",
            TAG,
            {"200": "The appliance", "404": "Unknown or expired code"},
            body={"code": "string"},
        )
    }

    def initialize(self, appliances: ApplianceLinks, **kwargs: Any) -> None:  # type: ignore[override]
        """Store the appliance links (for the gate)."""
        super().initialize(**kwargs)
        self.appliances = appliances

    async def post(self) -> None:
        """Preview."""
        await self.current_session()
        try:
            code_hash = pairing_hash(text(self.json_body(), "code"))
        except InvalidInput:
            raise NotFound("This code is not valid. Open the appliance's link again.") from None
        preview: PairingPreview | None = await self.ask(
            self.appliances.gate(), ProxyCall(attr_path=("preview",), args=(code_hash,), kwargs={})
        )
        if preview is None:
            raise NotFound("This code is not valid any more. Open the appliance's link again.")
        self.write_json(dataclasses.asdict(preview))
