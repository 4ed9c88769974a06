"""Handlers for organization-scoped requests: typed calls to the organization's actor."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, overload

from actors.organization import OrganizationActor
from mykerio.models import User
from web.auth import AccountHandler

P = ParamSpec("P")
R = TypeVar("R")


class OrgHandler(AccountHandler):
    """A handler that talks to organization actors as the logged-in user."""

    @overload
    async def org_call(
        self,
        org_id: str,
        method: Callable[Concatenate[OrganizationActor, User, P], Coroutine[Any, Any, R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @overload
    async def org_call(
        self,
        org_id: str,
        method: Callable[Concatenate[OrganizationActor, User, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    async def org_call(
        self, org_id: str, method: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """Run `method(user, *args)` (an `OrganizationActor` method) in the organization's
        actor as the logged-in user; ids that cannot exist answer 404 without starting one."""
        current = await self.current_session()
        organization = self.router.organization(org_id)
        return await organization.call(method, current.user, *args, **kwargs)
