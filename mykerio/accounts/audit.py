"""The access audit: every login, logout and failed login, and who may read which records.

A user reads their own records; a member of an organization reads the records of everyone in
it. Records older than the retention period are deleted by `prune`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from mykerio.accounts.context import Client
from mykerio.accounts.policy import AccountPolicy
from mykerio.clock import Clock
from mykerio.errors import InvalidInput, NotFound
from mykerio.models import AccessEvent, new_id
from mykerio.store.base import Store

ACTIONS = ("login", "logout", "login_failed")
MAX_PAGE = 200


@dataclasses.dataclass(frozen=True, slots=True)
class AuditFilter:
    """What a reader asks for; `org_id` empty means their own records."""

    org_id: str = ""
    ip: str = ""
    since: datetime | None = None
    until: datetime | None = None
    action: str = ""
    limit: int = 50
    before: tuple[datetime, str] | None = None


class AccessAudit:
    """Records and reads access events."""

    def __init__(self, store: Store, clock: Clock, policy: AccountPolicy) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy

    async def record(
        self, action: str, *, user_id: str, email: str, client: Client, detail: str = ""
    ) -> None:
        """Store one event, now."""
        await self._store.audit.add(
            AccessEvent(
                id=new_id(),
                user_id=user_id,
                email=email,
                at=self._clock.now(),
                ip=client.ip,
                user_agent=client.user_agent[:300],
                action=action,
                detail=detail,
            )
        )

    async def read(self, reader_id: str, query: AuditFilter) -> list[AccessEvent]:
        """The events `reader_id` may see that match `query`, newest first."""
        if query.action and query.action not in ACTIONS:
            raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}")
        if not 1 <= query.limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        if query.since and query.until and query.since > query.until:
            raise InvalidInput("the start of the date range is after its end")
        if query.org_id:
            if not await self._store.organizations.is_member(query.org_id, reader_id):
                # The same answer as for an organization that does not exist.
                raise NotFound(f"organization {query.org_id}")
            members = await self._store.organizations.members(query.org_id)
            user_ids = [member.user_id for member in members]
        else:
            user_ids = [reader_id]
        return await self._store.audit.query(
            user_ids=user_ids,
            ip=query.ip or None,
            since=query.since,
            until=query.until,
            action=query.action or None,
            limit=query.limit,
            before=query.before,
        )
