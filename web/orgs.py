"""Finding the OrganizationActor of an id, and handlers for organization-scoped requests."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from pykka import ActorRef
from pykka.messages import ProxyCall

from mykerio.errors import NotFound
from web.auth import AccountHandler

_ORG_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclasses.dataclass(frozen=True, slots=True)
class OrganizationsDirectory:
    """Gives the actor of an organization, starting it on first use."""

    start: Callable[[str], ActorRef[Any]]

    def ref(self, org_id: str) -> ActorRef[Any]:
        """The organization's actor; ids that cannot exist answer 404 without starting one."""
        if not _ORG_ID.match(org_id):
            raise NotFound(f"organization {org_id}")
        return self.start(org_id)


class OrgHandler(AccountHandler):
    """A handler that talks to organization actors."""

    organizations: OrganizationsDirectory

    def initialize(  # type: ignore[override]
        self, organizations: OrganizationsDirectory, **kwargs: Any
    ) -> None:
        """Store the organizations directory."""
        super().initialize(**kwargs)
        self.organizations = organizations

    async def org_call(self, org_id: str, method: str, *args: Any) -> Any:
        """Call `method(user, *args)` on the organization's actor as the logged-in user."""
        current = await self.current_session()
        ref = self.organizations.ref(org_id)
        return await self.ask(
            ref, ProxyCall(attr_path=(method,), args=(current.user, *args), kwargs={})
        )
