"""Operations endpoints: liveness, readiness, Prometheus metrics and the hub's identity."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import mykerio
from actors.health import HealthActor, Readiness
from actors.router import Router
from actors.supervisor import Supervisor
from web.base import BaseHandler

_HEALTH_SCHEMA = {"$ref": "#/components/schemas/Health"}


class HealthzHandler(BaseHandler):
    """Liveness: the process serves HTTP."""

    openapi = {
        "get": {
            "summary": "Liveness probe: 200 while the process serves requests",
            "tags": ["operations"],
            "responses": {"200": {"description": "Alive", "schema": _HEALTH_SCHEMA}},
        }
    }

    def get(self) -> None:
        """Always ok while the loop runs."""
        self.write_json({"status": "ok"})


class ReadyzHandler(BaseHandler):
    """Readiness: the store answers and the supervisor is running."""

    openapi = {
        "get": {
            "summary": "Readiness probe: 200 when the store answers and actors run, else 503",
            "tags": ["operations"],
            "responses": {
                "200": {"description": "Ready", "schema": _HEALTH_SCHEMA},
                "503": {"description": "Not ready; `checks` says why", "schema": _HEALTH_SCHEMA},
            },
        }
    }

    def initialize(  # type: ignore[override]
        self, supervisor: Supervisor, router: Router, **kwargs: Any
    ) -> None:
        """Store the supervisor (is it running?) and the router (to the health actor)."""
        super().initialize(**kwargs)
        self.supervisor = supervisor
        self.router = router

    async def get(self) -> None:
        """Ask the health actor; 503 with the failing checks if anything is down."""
        checks: dict[str, str] = {"supervisor": "ok" if self.supervisor.running else "stopping"}
        health = self.router.health()
        if health is None:
            checks["store"] = "unknown: health actor not running"
        else:
            readiness: Readiness = await health.call(HealthActor.readiness)
            checks["store"] = readiness.store
        ready = all(value == "ok" for value in checks.values())
        self.write_json(
            {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
        )


class MetricsHandler(BaseHandler):
    """Prometheus text exposition of the hub's registry."""

    openapi = {
        "get": {
            "summary": "Prometheus metrics in the text exposition format",
            "tags": ["operations"],
            "responses": {"200": {"description": "Metrics", "content_type": "text/plain"}},
        }
    }

    def get(self) -> None:
        """Render every metric."""
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(self.metrics.registry))


class HubInfoHandler(BaseHandler):
    """Public facts about this hub that the dashboard shows."""

    openapi = {
        "get": {
            "summary": "Name and version of this hub",
            "tags": ["hub"],
            "responses": {
                "200": {"description": "Hub", "schema": {"$ref": "#/components/schemas/Hub"}}
            },
        }
    }

    def get(self) -> None:
        """Name and version."""
        self.write_json({"name": "MyKerio Hub", "version": mykerio.__version__})
