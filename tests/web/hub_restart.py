"""Restarting a test's hub: stop it, then start another with the same settings, port and data."""

from __future__ import annotations

import dataclasses

from mykerio.config import load_config
from web.hub import Hub


async def restarted(hub: Hub) -> Hub:
    """Stop `hub` and return a new, started hub exactly like it (same port, data, clock)."""
    overrides = {
        f"{section.name}.{field.name}": getattr(getattr(hub.config, section.name), field.name)
        for section in dataclasses.fields(hub.config)
        for field in dataclasses.fields(getattr(hub.config, section.name))
    }
    overrides["server.port"] = hub.port
    await hub.stop(deadline=10)
    again = Hub(load_config(overrides=overrides), clock=hub.clock)
    await again.start()
    return again
