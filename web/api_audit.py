"""API: the access audit — logins, logouts and failed logins, filtered and paged."""

from __future__ import annotations

from actors.accounts import AccountsActor
from mykerio.accounts.audit import AuditFilter
from mykerio.models import AccessEvent
from web.auth import AccountHandler
from web.models import audit as models
from web.openapi import Answer, Operation
from web.paging import decode_cursor, lookahead, page_limit, page_of, when


class AuditHandler(AccountHandler):
    """Lists access events the logged-in user may see."""

    openapi = {
        "get": Operation(
            "Access audit, newest first: your own records, or with org_id those of every member "
            "of that organization. Filter by ip, date range (since, until) and action "
            "(login, logout, login_failed); page with limit and the returned next_cursor",
            "audit",
            {200: Answer("A page of events", models.AuditPage)},
            {401: "Not logged in", 404: "No such organization (or not a member)"},
            query=models.AuditQuery,
        )
    }

    async def get(self) -> None:
        """One page."""
        current = await self.current_session()
        limit = page_limit(self.get_query_argument("limit", ""))
        query = AuditFilter(
            org_id=self.get_query_argument("org_id", ""),
            ip=self.get_query_argument("ip", "").strip(),
            since=when(self.get_query_argument("since", ""), "since"),
            until=when(self.get_query_argument("until", ""), "until"),
            action=self.get_query_argument("action", ""),
            limit=lookahead(limit),
            before=decode_cursor(self.get_query_argument("cursor", "")),
        )
        found: list[AccessEvent] = await self.call(
            current.user.id, AccountsActor.read_audit, current.user.id, query
        )
        events, cursor = page_of(found, limit)
        self.write_model(
            models.AuditPage(
                events=[models.AccessEvent.model_validate(e) for e in events],
                next_cursor=cursor,
            )
        )
