"""The notification relay's pages: "Notification relay" for members (each appliance of the
selected organization: emails in the window n / 100, refusals by reason, blacklisted
recipients with their release time) and the operators' page with the whole blacklist and its
removal (`/operator/relay`; anyone who is not in `[hub] operators` gets 404)."""

from __future__ import annotations

from typing import Any

from mykerio.errors import NotFound
from web.openapi import page
from web.pages import PageHandler


class RelayPage(PageHandler):
    """The Notification relay section."""

    template = "relay.html"
    needs_login = True
    org_picker = True
    openapi = page("The notification relay of an organization's appliances (HTML)", "pages")


class OperatorRelayPage(PageHandler):
    """The relay's whole blacklist, for the hub's operators."""

    template = "relay_operator.html"
    needs_login = True
    openapi = page("The relay's blacklist (HTML; the hub's operators only)", "pages")

    def initialize(  # type: ignore[override]
        self, operators: frozenset[str], **kwargs: Any
    ) -> None:
        """Store who the operators are (`[hub] operators`)."""
        super().initialize(**kwargs)
        self.operators = operators

    async def get(self) -> None:
        """Render for an operator; 404 for anyone else, as for a page that does not exist."""
        current = await self.page_user()
        if current is None:
            return
        if current.user.email.strip().lower() not in self.operators:
            raise NotFound(f"page {self.request.path}")
        await self.show(current)
