"""API: notifications — an organization's grace before "offline" is announced (issue 15).

Handlers ask the notifier actor, which checks membership (404 for an organization the caller
is not in) and keeps the settings.
"""

from __future__ import annotations

from collections.abc import Callable

import tornado.web

from actors.notifier import NotifierActor, OrgNotificationSettings
from web.auth import AccountHandler
from web.models.notifications import OrgNotificationsAnswer, OrgNotificationsRequest
from web.openapi import Answer, Operation, Route

TAG = "notifications"


def _answer(settings: OrgNotificationSettings) -> OrgNotificationsAnswer:
    return OrgNotificationsAnswer(
        grace_minutes=settings.grace_minutes,
        default_grace_minutes=settings.default_grace_minutes,
        batch_minutes=settings.batch_minutes,
    )


class OrgNotificationsHandler(AccountHandler):
    """Reads and sets the organization's online/offline email settings."""

    openapi = {
        "get": Operation(
            "The organization's online/offline email settings",
            TAG,
            {200: Answer("Settings", OrgNotificationsAnswer)},
            {404: "No such organization (or not a member)"},
        ),
        "put": Operation(
            'Set the grace before "offline" is announced (0 to 30 minutes)',
            TAG,
            {200: Answer("Settings", OrgNotificationsAnswer)},
            {404: "No such organization (or not a member)"},
            body=OrgNotificationsRequest,
        ),
    }

    async def get(self, org_id: str) -> None:
        """Read."""
        current = await self.current_session()
        settings = await self.router.notifier().call(
            NotifierActor.org_settings, current.user.id, org_id
        )
        self.write_model(_answer(settings))

    async def put(self, org_id: str) -> None:
        """Set."""
        body = self.body(OrgNotificationsRequest)
        current = await self.current_session()
        settings = await self.router.notifier().call(
            NotifierActor.set_org_grace, current.user.id, org_id, body.grace_minutes
        )
        self.write_model(_answer(settings))


def routes(org_route: Callable[[str, type[tornado.web.RequestHandler]], Route]) -> list[Route]:
    """The notifications routes (web/app.py adds them to its table)."""
    return [org_route("/api/v1/organizations/{org_id}/notifications", OrgNotificationsHandler)]
