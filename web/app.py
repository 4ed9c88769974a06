"""The route table and the Tornado application built from it."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import tornado.httputil
import tornado.web

from actors.router import Router
from actors.supervisor import Supervisor
from mykerio.config import Config
from mykerio.protocol.envelope import MAX_MESSAGE_BYTES
from web import (
    api_accounts,
    api_appliances,
    api_audit,
    api_backups,
    api_definitions,
    api_fleet,
    api_my_sessions,
    api_notifications,
    api_organizations,
    api_relay,
    api_sessions,
    api_settings,
    api_tunnel,
    api_webhooks,
    page_backups,
    page_relay,
    pages,
    pages_definitions,
)
from web.appliance_links import ApplianceLinks
from web.appliance_socket import ApplianceSocketHandler
from web.base import NotFoundHandler, PayloadTooLargeHandler
from web.dashboard import OpenApiHandler, StaticHandler
from web.live import LiveRegistry, LiveSocketHandler
from web.metrics import HubMetrics
from web.openapi import Route, build_document
from web.ops import HealthzHandler, HubInfoHandler, MetricsHandler, ReadyzHandler
from web.tunnel_origin import TunnelOrigin

HERE = Path(__file__).parent


def build_routes(
    config: Config,
    metrics: HubMetrics,
    supervisor: Supervisor,
    router: Router,
    registry: LiveRegistry,
    appliances: ApplianceLinks,
    *,
    dev_outbox: bool,
    tunnel: TunnelOrigin | None = None,
) -> list[Route]:
    """Every route of the hub, each with exactly the collaborators its handler needs."""
    common: dict[str, Any] = {"metrics": metrics}
    # What every handler of a logged-in (or logging-in) person gets: the way to the actors.
    accounts: dict[str, Any] = {
        "router": router,
        "persistent_days": config.accounts.persistent_session_days,
    }

    def route(pattern: str, handler: type[tornado.web.RequestHandler], **kwargs: Any) -> Route:
        return Route(pattern, handler, {"route": pattern, **common, **kwargs}, pattern)

    def account_route(pattern: str, handler: type[tornado.web.RequestHandler]) -> Route:
        return route(pattern, handler, **accounts)

    def org_route(path: str, handler: type[tornado.web.RequestHandler]) -> Route:
        # `path` is the OpenAPI form (`/x/{org_id}`); each `{…}` becomes one URL segment.
        pattern = re.sub(r"\{[a-z_]+\}", "([^/]+)", path)
        kwargs = {"route": path, **common, **accounts}
        return Route(pattern, handler, kwargs, path)

    def appliance_route(path: str, handler: type[tornado.web.RequestHandler]) -> Route:
        org = org_route(path, handler)
        return Route(org.pattern, handler, {**org.kwargs, "appliances": appliances}, path)

    def operator_route(path: str, handler: type[tornado.web.RequestHandler]) -> Route:
        # Routes of the hub's operators (`[hub] operators`); everyone else gets 404.
        org = org_route(path, handler)
        return Route(
            org.pattern, handler, {**org.kwargs, "operators": config.hub.operator_emails}, path
        )

    routes = [
        account_route("/", pages.DashboardPage),
        account_route("/login", pages.LoginPage),
        account_route("/register", pages.RegisterPage),
        account_route("/confirm", pages.ConfirmPage),
        account_route("/forgot", pages.ForgotPage),
        account_route("/reset", pages.ResetPage),
        account_route("/settings", pages.SettingsPage),
        account_route("/audit", pages.AuditPage),
        account_route("/backups", page_backups.BackupsPage),
        route("/healthz", HealthzHandler),
        route("/readyz", ReadyzHandler, supervisor=supervisor, router=router),
        route("/metrics", MetricsHandler),
        route("/api/v1/hub", HubInfoHandler),
        account_route("/api/v1/csrf", api_sessions.CsrfHandler),
        account_route("/api/v1/sessions", api_sessions.SessionsHandler),
        account_route("/api/v1/sessions/second-factor", api_sessions.SecondFactorHandler),
        account_route("/api/v1/sessions/sms", api_sessions.LoginSmsHandler),
        account_route("/api/v1/registrations", api_accounts.RegistrationsHandler),
        account_route("/api/v1/registrations/confirm", api_accounts.ConfirmationHandler),
        account_route("/api/v1/registrations/resend", api_accounts.ResendConfirmationHandler),
        account_route("/api/v1/password-rules", api_accounts.PasswordRulesHandler),
        account_route("/api/v1/password-resets", api_accounts.PasswordResetsHandler),
        account_route("/api/v1/password-resets/complete", api_accounts.PasswordResetHandler),
        account_route("/api/v1/password-resets/check", api_accounts.PasswordResetCheckHandler),
        account_route("/api/v1/me", api_settings.MeHandler),
        account_route("/api/v1/me/password", api_settings.PasswordHandler),
        account_route("/api/v1/me/totp/setup", api_settings.TotpSetupHandler),
        account_route("/api/v1/me/totp", api_settings.TotpHandler),
        account_route("/api/v1/me/totp/disable", api_settings.TotpDisableHandler),
        account_route("/api/v1/me/backup-codes", api_settings.BackupCodesHandler),
        account_route("/api/v1/me/phone", api_settings.PhoneHandler),
        account_route("/api/v1/me/phone/verify", api_settings.PhoneVerifyHandler),
        account_route("/api/v1/me/phone/remove", api_settings.PhoneRemoveHandler),
        account_route("/api/v1/me/notifications", api_settings.NotificationsHandler),
        account_route("/api/v1/me/sessions", api_my_sessions.MySessionsHandler),
        Route(
            "/api/v1/me/sessions/([^/]+)",
            api_my_sessions.MySessionHandler,
            {"route": "/api/v1/me/sessions/{session_id}", **common, **accounts},
            "/api/v1/me/sessions/{session_id}",
        ),
        account_route("/api/v1/audit", api_audit.AuditHandler),
        account_route("/organizations", pages.OrganizationsPage),
        account_route("/invitations/accept", pages.InvitationPage),
        Route(
            "/api/v1/live",
            LiveSocketHandler,
            {
                "route": "/api/v1/live",
                **common,
                **accounts,
                "registry": registry,
            },
            "/api/v1/live",
        ),
        org_route("/api/v1/organizations", api_organizations.OrganizationsHandler),
        org_route("/api/v1/organizations/{org_id}", api_organizations.OrganizationHandler),
        org_route(
            "/api/v1/organizations/{org_id}/deletion", api_organizations.DeletionSummaryHandler
        ),
        org_route("/api/v1/organizations/{org_id}/leave", api_organizations.LeaveHandler),
        org_route(
            "/api/v1/organizations/{org_id}/invitations", api_organizations.InvitationsHandler
        ),
        org_route(
            "/api/v1/organizations/{org_id}/invitations/{invitation_id}",
            api_organizations.InvitationHandler,
        ),
        org_route(
            "/api/v1/organizations/{org_id}/invitations/{invitation_id}/resend",
            api_organizations.ResendInvitationHandler,
        ),
        org_route(
            "/api/v1/organizations/{org_id}/members/{user_id}", api_organizations.MemberHandler
        ),
        org_route("/api/v1/organizations/{org_id}/activity", api_organizations.ActivityHandler),
        org_route("/api/v1/invitations/accept", api_organizations.AcceptInvitationHandler),
        org_route("/api/v1/invitations/preview", api_organizations.InvitationPreviewHandler),
        org_route("/api/v1/me/organization", api_organizations.SelectedOrganizationHandler),
        account_route("/api/v1/me/appliances", api_fleet.FleetHandler),
        account_route("/appliances/add", pages.AddAppliancePage),
        account_route("/appliances/add-box", pages.AddBoxPage),
        org_route("/api/v1/organizations/{org_id}/appliances", api_appliances.AppliancesHandler),
        appliance_route("/api/v1/organizations/{org_id}/boxes", api_appliances.BoxesHandler),
        appliance_route("/api/v1/appliances/find-box", api_appliances.FindBoxHandler),
        appliance_route("/api/v1/appliances/check-box", api_appliances.CheckBoxHandler),
        org_route(
            "/api/v1/organizations/{org_id}/appliances/{appliance_id}",
            api_appliances.ApplianceHandler,
        ),
        org_route(
            "/api/v1/organizations/{org_id}/appliances/{appliance_id}/history",
            api_appliances.ApplianceHistoryHandler,
        ),
        *api_backups.routes(org_route),
        appliance_route("/api/v1/appliances/pairing-preview", api_appliances.PairingPreviewHandler),
        *api_definitions.routes(org_route),
        *pages_definitions.routes(account_route),
        *api_relay.routes(org_route, operator_route),
        account_route("/relay", page_relay.RelayPage),
        operator_route("/operator/relay", page_relay.OperatorRelayPage),
        *api_notifications.routes(org_route),
        *api_webhooks.routes(org_route),
        *api_tunnel.routes(org_route, tunnel),
        Route(
            "/appliance/v1/socket",
            ApplianceSocketHandler,
            {"links": appliances, "route": "/appliance/v1/socket", **common},
            "/appliance/v1/socket",
        ),
    ]
    if dev_outbox:
        routes.append(route("/dev/outbox", pages.OutboxPage, **accounts))
    document_route = route("/api/v1/openapi.json", OpenApiHandler)
    routes.append(document_route)
    # Built at the first request, not at start: its ~0.2 s of schema generation would come
    # before /readyz, when a restarted hub's appliances are all knocking.
    document_route.kwargs["document"] = functools.cache(lambda: build_document(routes))
    return routes


class HubApplication(tornado.web.Application):
    """The hub's Tornado application: a too-large body is routed to the JSON 413 on its headers."""

    def __init__(self, *args: Any, max_body_bytes: int, metrics: HubMetrics, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    def find_handler(
        self, request: tornado.httputil.HTTPServerRequest, **kwargs: Any
    ) -> tornado.web._HandlerDelegate:
        """The route's handler, or `PayloadTooLargeHandler` when Content-Length is too large."""
        length = request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            return self.get_handler_delegate(
                request,
                PayloadTooLargeHandler,
                {"route": "too_large", "metrics": self.metrics},
            )
        return super().find_handler(request, **kwargs)


def make_app(
    config: Config,
    metrics: HubMetrics,
    supervisor: Supervisor,
    router: Router,
    registry: LiveRegistry,
    appliances: ApplianceLinks,
    *,
    dev_outbox: bool = False,
    tunnel: TunnelOrigin | None = None,
) -> tornado.web.Application:
    """The Tornado application: routes, static files, templates, CSRF, the JSON 404."""
    routes = build_routes(
        config,
        metrics,
        supervisor,
        router,
        registry,
        appliances,
        dev_outbox=dev_outbox,
        tunnel=tunnel,
    )
    handlers: list[Any] = [(r.pattern, r.handler, r.kwargs) for r in routes]
    return HubApplication(
        handlers,
        max_body_bytes=config.server.max_body_bytes,
        metrics=metrics,
        template_path=str(HERE / "templates"),
        static_path=str(HERE / "static"),
        static_handler_class=StaticHandler,
        default_handler_class=NotFoundHandler,
        default_handler_args={"route": "unmatched", "metrics": metrics},
        xsrf_cookies=True,
        xsrf_cookie_name="__Host-xsrf",
        xsrf_cookie_kwargs={"secure": True, "httponly": True, "samesite": "Strict", "path": "/"},
        compress_response=True,
        # The appliance protocol's limit; the dashboard socket's messages are far smaller.
        websocket_max_message_size=MAX_MESSAGE_BYTES,
        debug=False,
    )
