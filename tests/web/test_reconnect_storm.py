"""500 simulated appliances (one simulator process) reconnect after a hub restart, all green."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import sys
from pathlib import Path
from typing import Any

from mykerio.config import load_config
from tests.api_client import ApiSession
from tests.conftest import api_session
from tests.smtp_server import LoopbackSmtp
from tests.web.live_watch import LiveWatch
from tests.web.org_helpers import member
from web.hub import Hub

COUNT = 500


async def all_green(api: ApiSession, org_id: str, timeout: float) -> list[dict[str, Any]]:
    """The organization's appliances once all COUNT are connected and green (event-driven)."""
    async with LiveWatch(api, org_id) as live, asyncio.timeout(timeout):
        while True:
            rows = (await api.get(f"/api/v1/organizations/{org_id}/appliances")).json["appliances"]
            if len(rows) == COUNT and all(r["connected"] and r["status"] == "green" for r in rows):
                return list(rows)
            await live.next(timeout)


async def test_five_hundred_appliances_come_back_green_after_a_hub_restart(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Every appliance of a 500-strong fleet is added, the hub restarts, and all reconnect on
    their own and are green again, with no crash on either side."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    fleet = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mykerio.agent",
        "--count",
        str(COUNT),
        "--hub",
        hub.url,
        "--state",
        str(tmp_path / "fleet"),
        "--cafile",
        str(hub.config.data_dir / "tls" / "cert.pem"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    second: Hub | None = None
    try:
        assert fleet.stdout is not None
        codes: dict[int, str] = {}
        async with asyncio.timeout(60):
            while len(codes) < COUNT:
                line = (await fleet.stdout.readline()).decode()
                assert line, "the simulator exited"
                found = re.search(r"^\[(\d+)\] .*#code=([A-Z0-9-]+)", line)
                if found:
                    codes[int(found.group(1))] = found.group(2)
        for index, code in sorted(codes.items()):
            added = await api.post(
                f"/api/v1/organizations/{org_id}/appliances",
                {"code": code, "name": f"box-{index:03d}"},
            )
            assert added.status == 201, added
        await all_green(api, org_id, timeout=60)

        port = hub.port
        await hub.stop(deadline=10)
        config = load_config(
            overrides={
                **{f"{s}.{k}": v for s, k, v in _overrides(hub)},
                "server.port": port,
            }
        )
        second = Hub(config, clock=hub.clock)
        await second.start()
        again = api_session(second)
        again.cookies = dict(api.cookies)
        rows = await all_green(again, org_id, timeout=90)
        assert len({row["id"] for row in rows}) == COUNT
        assert fleet.returncode is None, "the simulator is still running"
    finally:
        fleet.terminate()
        async with asyncio.timeout(20):
            await fleet.wait()
        if second is not None:
            await second.stop(deadline=10)


def _overrides(hub: Hub) -> list[tuple[str, str, Any]]:
    """The running hub's settings, to start a second hub exactly like it."""
    values = []
    for section in dataclasses.fields(hub.config):
        group = getattr(hub.config, section.name)
        for field in dataclasses.fields(group):
            values.append((section.name, field.name, getattr(group, field.name)))
    return values
