"""Operations endpoints: liveness, readiness, Prometheus metrics and the hub's identity."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import mykerio
from actors.health import HealthActor, Readiness
from actors.router import Router
from actors.supervisor import Supervisor
from web.base import BaseHandler
from web.models.ops import Health, Hub
from web.openapi import Answer, Operation

TAG = "operations"


class HealthzHandler(BaseHandler):
    """Liveness: the process serves HTTP."""

    openapi = {
        "get": Operation(
            "Liveness probe: 200 while the process serves requests",
            TAG,
            {200: Answer("Alive", Health)},
        )
    }

    def get(self) -> None:
        """Always ok while the loop runs."""
        self.write_json({"status": "ok"})


class ReadyzHandler(BaseHandler):
    """Readiness: the store answers and the supervisor is running."""

    openapi = {
        "get": Operation(
            "Readiness probe: 200 when the store answers and actors run, else 503",
            TAG,
            {200: Answer("Ready", Health), 503: Answer("Not ready; `checks` says why", Health)},
        )
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
        "get": Operation(
            "Prometheus metrics in the text exposition format",
            TAG,
            {200: Answer("Metrics", media_type="text/plain", schema={"type": "string"})},
        )
    }

    def get(self) -> None:
        """Render every metric."""
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(self.metrics.registry))


class HubInfoHandler(BaseHandler):
    """Public facts about this hub that the dashboard shows."""

    openapi = {"get": Operation("Name and version of this hub", "hub", {200: Answer("Hub", Hub)})}

    def get(self) -> None:
        """Name and version."""
        self.write_model(Hub(name="MyKerio Hub", version=mykerio.__version__))
