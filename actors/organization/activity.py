"""The activity part of an organization's actor: reading the organization's activity log
(entries are written by the other parts, through `OrganizationCore._record`)."""

from __future__ import annotations

from datetime import datetime

from actors.organization.core import OrganizationCore
from mykerio.models import ActivityEvent, User


class ActivityPart(OrganizationCore):
    """What members did in the organization, and what its appliances' links did."""

    async def activity(
        self,
        user: User,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        before: tuple[datetime, str] | None,
    ) -> list[ActivityEvent]:
        """The organization's activity log, newest first, for a member."""
        self._require_member(user)
        return await self._store.activity.query(
            org_id=self.org_id, action=action, since=since, until=until, limit=limit, before=before
        )
