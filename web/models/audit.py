"""The access audit's query and page."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from web.models.base import Page, PageQuery, ResponseModel, Timestamp

# `mykerio.accounts.audit.ACTIONS` (tests/web/test_http_models.py keeps the two equal).
AccessAction = Literal["login", "logout", "login_failed"]
DATE = "ISO 8601 date or time (UTC unless it names an offset)"


class AuditQuery(PageQuery):
    """Filters: your own records, or with `org_id` those of every member of it."""

    org_id: str = Field("", description="An organization you are a member of")
    ip: str = ""
    since: str = Field("", description=DATE)
    until: str = Field("", description=DATE)
    action: Literal["", "login", "logout", "login_failed"] = Field("", description='"": all')


class AccessEvent(ResponseModel):
    """One login, logout or failed login."""

    id: str
    at: Timestamp
    action: AccessAction
    email: str = Field(description="The address that was typed")
    ip: str
    user_agent: str
    detail: str


class AuditPage(Page):
    """A page of access events, newest first."""

    events: list[AccessEvent]
