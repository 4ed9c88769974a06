"""The route table and the Tornado application built from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tornado.web

from actors.supervisor import Supervisor
from mykerio.config import Config
from web.base import NotFoundHandler
from web.dashboard import DashboardHandler, OpenApiHandler, StaticHandler
from web.metrics import HubMetrics
from web.openapi import Route, build_document
from web.ops import HealthzHandler, HubInfoHandler, MetricsHandler, ReadyzHandler

HERE = Path(__file__).parent
HEALTH_KEY = "health"


def build_routes(config: Config, metrics: HubMetrics, supervisor: Supervisor) -> list[Route]:
    """Every route of the hub, each with exactly the collaborators its handler needs."""
    common: dict[str, Any] = {"metrics": metrics, "ask_timeout": config.actors.ask_timeout}

    def route(pattern: str, handler: type[tornado.web.RequestHandler], **kwargs: Any) -> Route:
        return Route(pattern, handler, {"route": pattern, **common, **kwargs}, pattern)

    routes = [
        route("/", DashboardHandler),
        route("/healthz", HealthzHandler),
        route("/readyz", ReadyzHandler, supervisor=supervisor, health_key=HEALTH_KEY),
        route("/metrics", MetricsHandler),
        route("/api/v1/hub", HubInfoHandler),
    ]
    document_route = route("/api/v1/openapi.json", OpenApiHandler, document={})
    routes.append(document_route)
    document_route.kwargs["document"] = build_document(routes)
    return routes


def make_app(
    config: Config, metrics: HubMetrics, supervisor: Supervisor
) -> tornado.web.Application:
    """The Tornado application: routes, static files, templates, the JSON 404."""
    routes = build_routes(config, metrics, supervisor)
    handlers: list[Any] = [(r.pattern, r.handler, r.kwargs) for r in routes]
    return tornado.web.Application(
        handlers,
        template_path=str(HERE / "templates"),
        static_path=str(HERE / "static"),
        static_handler_class=StaticHandler,
        default_handler_class=NotFoundHandler,
        default_handler_args={"route": "unmatched", "metrics": metrics},
        xsrf_cookies=False,
        compress_response=True,
        debug=False,
    )
