"""The dashboard's HTML pages: sign-in screens, Settings, the access audit, the dev outbox.

Pages are Tornado templates; their forms are driven by plain ES modules in `static/` that call
the JSON API with the page's CSRF token. A page that needs a login sends the browser to the
login page, saying why when the session expired.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import tornado.httputil
import tornado.web

import mykerio
from actors.accounts import AccountsActor
from actors.mailer import MailerActor
from mykerio.accounts.policy import AccountPolicy
from mykerio.accounts.sessions import CurrentSession, SessionExpired
from mykerio.errors import Unauthorized, Unavailable
from mykerio.models import Organization
from mykerio.organizations.rules import ACTION_LABELS
from web.auth import AccountHandler
from web.openapi import Operation, page

TAG = "pages"
IDLE_MINUTES = int(AccountPolicy().session_idle.total_seconds() // 60)


def _page(summary: str) -> Mapping[str, Operation]:
    return page(summary, TAG)


class PageHandler(AccountHandler):
    """Renders a template with the values every page needs."""

    template = ""
    needs_login = False
    # Whether the header shows the organization picker: only pages about one organization.
    org_picker = False

    async def page_user(self) -> CurrentSession | None:
        """The logged-in user, or None (after redirecting to the login page if one is needed)."""
        try:
            return await self.current_session()
        except SessionExpired:
            self.end_session()
            if self.needs_login:
                self.redirect("/login?expired=1")
            return None
        except Unauthorized:
            if self.needs_login:
                self.redirect(f"/login?next={self.request.path}")
            return None

    async def show(self, current: CurrentSession | None, **values: Any) -> None:
        """Render `template` with the page's shared values (and the header's org switcher)."""
        organizations: list[Organization] = []
        selected = ""
        if current is not None:
            organizations = await self.call(
                current.user.id, AccountsActor.my_organizations, current.user
            )
            ids = [org.id for org in organizations]
            selected = current.user.default_org_id if current.user.default_org_id in ids else ""
            selected = selected or (ids[0] if ids else "")
        self.render(
            self.template,
            version=mykerio.__version__,
            user=current.user if current else None,
            csrf_token=self.xsrf_token.decode(),
            organizations=organizations,
            selected_org=selected,
            org_picker=self.org_picker,
            idle_minutes=(0 if current is None or current.session.persistent else IDLE_MINUTES),
            **values,
        )

    async def get(self) -> None:
        """Render the page (or redirect to the login page)."""
        current = await self.page_user()
        if current is None and self.needs_login:
            return
        await self.show(current)


class DashboardPage(PageHandler):
    """Appliances: every appliance of all the user's organizations, grouped by organization."""

    template = "dashboard.html"
    needs_login = True
    openapi = _page("The dashboard (HTML; login required)")


class LoginPage(PageHandler):
    """Email and password, then the second factor."""

    template = "login.html"
    openapi = _page("Log in (HTML)")

    async def get(self) -> None:
        """Render; `expired=1` shows the session-expired message."""
        await self.show(
            None,
            expired=self.get_query_argument("expired", "") == "1",
            next_path=_safe_next(self.get_query_argument("next", "/")),
        )


class RegisterPage(PageHandler):
    """Registration with the live password checklist."""

    template = "register.html"
    openapi = _page("Register (HTML)")


class ConfirmPage(PageHandler):
    """Lands the confirmation link; the page confirms with a POST (mail scanners only GET)."""

    template = "confirm.html"
    openapi = _page("Confirm an email address (HTML; the token is in the query)")


class ForgotPage(PageHandler):
    """Forgot password."""

    template = "forgot.html"
    openapi = _page("Forgot password (HTML)")


class ResetPage(PageHandler):
    """Set a new password from a reset link."""

    template = "reset.html"
    openapi = _page("Set a new password (HTML; the token is in the query)")


class SettingsPage(PageHandler):
    """Settings: password, 2-step verification, backup codes, backup phone, notifications."""

    template = "settings.html"
    needs_login = True
    openapi = _page("Settings (HTML; login required)")


class AuditPage(PageHandler):
    """The access audit with filters."""

    template = "audit.html"
    needs_login = True
    openapi = _page("Access audit (HTML; login required)")


def peer_is_loopback(request: tornado.httputil.HTTPServerRequest) -> bool:
    """Whether the TCP peer of `request` is a loopback address.

    This is the socket's own address, never `remote_ip`: with `[server] xheaders` Tornado takes
    that from X-Forwarded-For / X-Real-Ip, which any client can write.
    """
    context = getattr(request.connection, "context", None)
    address = getattr(context, "address", None)
    if not isinstance(address, tuple) or not address:
        return False  # a Unix socket or an unknown connection: not known to be loopback
    try:
        peer = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        return peer.ipv4_mapped.is_loopback
    return peer.is_loopback


class OutboxPage(PageHandler):
    """Development only: the mail the hub would have sent, with clickable links."""

    template = "outbox.html"
    openapi = _page("Development outbox: recent emails (HTML; only without SMTP settings)")

    def prepare(self) -> None:
        """Refuse every client not on this machine: the page shows live links."""
        super().prepare()
        if not peer_is_loopback(self.request):
            raise tornado.web.HTTPError(
                403, "The development outbox answers only on this machine (loopback)."
            )

    async def get(self) -> None:
        """List the newest 50 messages."""
        try:
            messages = await self.router.mailer().call(MailerActor.recent, 50)
        except Unavailable:  # restarting: nothing to show for a moment
            messages = []
        await self.show(await self.page_user(), messages=messages)


class OrganizationsPage(PageHandler):
    """Organizations: create, rename, delete, leave; members, invitations, activity."""

    template = "organizations.html"
    needs_login = True
    org_picker = True
    openapi = _page("Organizations (HTML; login required)")

    async def get(self) -> None:
        """Render with the activity log's kinds of entry, in words (or redirect to log in)."""
        current = await self.page_user()
        if current is not None:
            await self.show(current, activity_actions=ACTION_LABELS)


class InvitationPage(PageHandler):
    """The invitation link's page: who invited whom to what, and the Accept button."""

    template = "invitation.html"
    openapi = _page("Accept an invitation (HTML; the token is in the query)")


class AddAppliancePage(PageHandler):
    """The "add this appliance" link's page: the "Add a New Appliance" dialog."""

    template = "add_appliance.html"
    needs_login = True
    openapi = _page("Add a new appliance (HTML; login required; the code is in the fragment)")


class AddBoxPage(PageHandler):
    """ "Add new appliance": a Kerio Control box by its serial number, step by step."""

    template = "add_box.html"
    needs_login = True
    openapi = _page("Add a Kerio Control box by serial number (HTML; login required)")


def _safe_next(path: str) -> str:
    """`path` if it is a plain path on this hub, else "/": never an open redirect.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    `/\t/evil.example` would leave the site; any control character, space or backslash is
    refused, and what remains must parse with neither scheme nor host.
    """
    if any(ord(char) < 0x21 or char in "\\\x7f" for char in path):
        return "/"
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//"):
        return "/"
    return path
