"""API: the access audit — logins, logouts and failed logins, filtered and paged."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from mykerio.accounts.audit import AuditFilter
from mykerio.errors import InvalidInput
from mykerio.models import AccessEvent
from web.auth import AccountHandler
from web.openapi import op


def _when(text: str, name: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 date or time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def encode_cursor(event: AccessEvent) -> str:
    """An opaque cursor pointing just after `event`."""
    return base64.urlsafe_b64encode(f"{event.at.isoformat()}|{event.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str] | None:
    """The (time, id) a cursor points after, or None for the first page."""
    if not cursor:
        return None
    try:
        at_text, _, event_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at_text), event_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor is not valid; start from the first page") from None


class AuditHandler(AccountHandler):
    """Lists access events the logged-in user may see."""

    openapi = {
        "get": op(
            "Access audit, newest first: your own records, or with org_id those of every member "
            "of that organization. Filter by ip, date range (since, until) and action "
            "(login, logout, login_failed); page with limit and the returned next_cursor",
            "audit",
            {"200": "A page of events", "404": "No such organization (or not a member)"},
            query={
                "org_id": "string",
                "ip": "string",
                "since": "string",
                "until": "string",
                "action": "string",
                "limit": "integer",
                "cursor": "string",
            },
        )
    }

    async def get(self) -> None:
        """One page."""
        current = await self.current_session()
        try:
            limit = int(self.get_query_argument("limit", "50"))
        except ValueError:
            raise InvalidInput("limit must be a number") from None
        query = AuditFilter(
            org_id=self.get_query_argument("org_id", ""),
            ip=self.get_query_argument("ip", "").strip(),
            since=_when(self.get_query_argument("since", ""), "since"),
            until=_when(self.get_query_argument("until", ""), "until"),
            action=self.get_query_argument("action", ""),
            limit=limit,
            before=decode_cursor(self.get_query_argument("cursor", "")),
        )
        events: list[AccessEvent] = await self.call(
            current.user.id, "read_audit", current.user.id, query
        )
        self.write_json(
            {
                "events": [
                    {
                        "id": e.id,
                        "at": e.at.isoformat(),
                        "action": e.action,
                        "email": e.email,
                        "ip": e.ip,
                        "user_agent": e.user_agent,
                        "detail": e.detail,
                    }
                    for e in events
                ],
                "next_cursor": encode_cursor(events[-1]) if len(events) == limit else "",
            }
        )
