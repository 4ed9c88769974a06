"""API: notifications (issue 15) — an organization's grace before "offline" is announced, the
appliances' notifications (listed, dismissed by each member for themselves).

Handlers ask the notifier actor, which checks membership (404 for an organization the caller
is not in) and keeps the settings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import tornado.web

from actors.accounts import AccountsActor
from actors.notifier import NotifierActor, OrgNotificationSettings, Preferences
from actors.organization import OrganizationActor
from mykerio.notifications.notices import NoticeView
from mykerio.notifications.preferences import Choice
from web.auth import AccountHandler
from web.models.notifications import (
    ApplianceNotificationEntry,
    ApplianceNotificationsList,
    ChoiceEntry,
    ChoiceRequest,
    MaintenanceEntry,
    MaintenanceRequest,
    MyStatus,
    OrgNotificationsAnswer,
    OrgNotificationsRequest,
    PreferencesAnswer,
)
from web.openapi import Answer, Operation, Route
from web.orgs import OrgHandler

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


def notification_entry(notice: NoticeView) -> ApplianceNotificationEntry:
    """A notification as the API shows it."""
    return ApplianceNotificationEntry(
        id=notice.id,
        appliance_id=notice.appliance_id,
        type=notice.type,  # type: ignore[arg-type]  # (one of the protocol's types)
        title=notice.title,
        severity=notice.severity,  # type: ignore[arg-type]  # (warning or error)
        text=notice.text,
        raised_at=notice.raised_at,
        dismissed=notice.dismissed,
    )


class ApplianceNotificationsHandler(AccountHandler):
    """Lists the notifications of the organization's appliances."""

    openapi = {
        "get": Operation(
            "The notifications the organization's appliances reported and have not cleared, "
            "oldest first, each marked if the caller dismissed it",
            TAG,
            {200: Answer("List", ApplianceNotificationsList)},
            {404: "No such organization (or not a member)"},
        )
    }

    async def get(self, org_id: str) -> None:
        """List."""
        current = await self.current_session()
        notices = await self.router.notifier().call(
            NotifierActor.appliance_notifications, current.user.id, org_id
        )
        self.write_model(
            ApplianceNotificationsList(notifications=[notification_entry(n) for n in notices])
        )


class DismissNotificationHandler(AccountHandler):
    """Dismisses one notification for the caller."""

    openapi = {
        "post": Operation(
            "Dismiss a notification for yourself (the other members still see it)",
            TAG,
            {204: Answer("Dismissed")},
            {404: "No such notification in the organization"},
        )
    }

    async def post(self, org_id: str, notification_id: str) -> None:
        """Dismiss."""
        current = await self.current_session()
        await self.router.notifier().call(
            NotifierActor.dismiss_notification, current.user.id, org_id, notification_id
        )
        self.set_status(204)
        self.finish()


def preferences_answer(preferences: Preferences, now: datetime) -> PreferencesAnswer:
    """A member's preferences as the API shows them."""
    return PreferencesAnswer(
        choices=[
            ChoiceEntry(
                appliance_id=scope,
                status_email=choice.status_email,
                email_from=choice.email_from,  # type: ignore[arg-type]  # (checked when set)
            )
            for scope, choice in sorted(preferences.choices.items())
        ],
        maintenance=[
            MaintenanceEntry(appliance_id=appliance_id, until=until, active=now < until)
            for appliance_id, until in sorted(preferences.maintenance.items())
        ],
    )


class PreferencesHandler(AccountHandler):
    """Reads and sets the caller's notification choices in an organization."""

    openapi = {
        "get": Operation(
            "Your notification choices in the organization (and for single appliances), and "
            "its appliances' maintenance windows",
            TAG,
            {200: Answer("Preferences", PreferencesAnswer)},
            {404: "No such organization (or not a member)"},
        ),
        "put": Operation(
            "Set your choice for the organization or one of its appliances: online/offline "
            "emails, and from which severity appliance notifications are emailed",
            TAG,
            {200: Answer("Preferences", PreferencesAnswer)},
            {404: "No such organization or appliance"},
            body=ChoiceRequest,
        ),
    }

    async def get(self, org_id: str) -> None:
        """Read."""
        current = await self.current_session()
        found = await self.router.notifier().call(
            NotifierActor.preferences, current.user.id, org_id
        )
        self.write_model(preferences_answer(found, found.at))

    async def put(self, org_id: str) -> None:
        """Set."""
        body = self.body(ChoiceRequest)
        current = await self.current_session()
        found = await self.router.notifier().call(
            NotifierActor.set_choice,
            current.user.id,
            org_id,
            body.appliance_id,
            Choice(status_email=body.status_email, email_from=body.email_from),
        )
        self.write_model(preferences_answer(found, found.at))


class MaintenanceHandler(AccountHandler):
    """Starts or ends an appliance's maintenance window."""

    openapi = {
        "put": Operation(
            "Silence the appliance's alerts (offline, notifications) for everyone until a "
            "time within 30 days; nothing that happens meanwhile is announced, also not when "
            "the window ends. `null` ends it now.",
            TAG,
            {200: Answer("Preferences", PreferencesAnswer)},
            {404: "No such organization or appliance"},
            body=MaintenanceRequest,
        )
    }

    async def put(self, org_id: str, appliance_id: str) -> None:
        """Set."""
        body = self.body(MaintenanceRequest)  # (`until`: ISO 8601 with an offset, or null)
        current = await self.current_session()
        found = await self.router.notifier().call(
            NotifierActor.set_maintenance, current.user.id, org_id, appliance_id, body.until
        )
        self.write_model(preferences_answer(found, found.at))


class MyStatusHandler(OrgHandler):
    """The status of all the caller's appliances and their notifications."""

    openapi = {
        "get": Operation(
            "Every appliance of all your organizations with its status, and the notifications "
            "they reported (each marked if you dismissed it); for the mobile app and scripts",
            TAG,
            {200: Answer("Status", MyStatus)},
            {401: "Not logged in"},
        )
    }

    async def get(self) -> None:
        """Read."""
        current = await self.current_session()
        orgs = await self.call(current.user.id, AccountsActor.my_organizations, current.user)
        parts = []
        for org in orgs:
            # The appliance list comes encoded by the organization's actor (as for its own
            # route); the rest is encoded here around it.
            listed = await self.org_call(org.id, OrganizationActor.appliance_list)
            notices = await self.router.notifier().call(
                NotifierActor.appliance_notifications, current.user.id, org.id
            )
            head = json.dumps({"id": org.id, "name": org.name})[:-1]
            entries = [notification_entry(n).model_dump(mode="json") for n in notices]
            parts.append(
                head.encode()
                + b', "appliances": '
                + listed
                + b', "notifications": '
                + json.dumps(entries).encode()
                + b"}"
            )
        self.write_encoded(b'{"organizations": [' + b", ".join(parts) + b"]}")


def routes(org_route: Callable[[str, type[tornado.web.RequestHandler]], Route]) -> list[Route]:
    """The notifications routes (web/app.py adds them to its table)."""
    base = "/api/v1/organizations/{org_id}"
    return [
        org_route(f"{base}/notifications", OrgNotificationsHandler),
        org_route(f"{base}/appliance-notifications", ApplianceNotificationsHandler),
        org_route(f"{base}/notification-preferences", PreferencesHandler),
        org_route("/api/v1/me/status", MyStatusHandler),
        org_route(base + "/appliances/{appliance_id}/maintenance", MaintenanceHandler),
        org_route(
            base + "/appliance-notifications/{notification_id}/dismiss",
            DismissNotificationHandler,
        ),
    ]
