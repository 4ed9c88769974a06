"""500 simulated appliances (one simulator process) reconnect after a hub restart, all green."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

from tests.api_client import ApiSession
from tests.conftest import api_session
from tests.smtp_server import LoopbackSmtp
from tests.web.hub_restart import restarted
from tests.web.live_watch import LiveWatch
from tests.web.org_helpers import member
from web.hub import Hub

COUNT = 500


async def all_green(api: ApiSession, org_id: str, timeout: float) -> list[dict[str, Any]]:
    """The organization's appliances once all COUNT are connected and green.

    Reads the list once after subscribing to the member's live socket, then follows the
    pushed changes (no polling, and no re-reading 500 rows per change).
    """
    async with LiveWatch(api, org_id) as live, asyncio.timeout(timeout):
        listed = (await api.get(f"/api/v1/organizations/{org_id}/appliances")).json
        rows = {row["id"]: row for row in listed["appliances"]}
        while not (
            len(rows) == COUNT
            and all(r["connected"] and r["status"] == "green" for r in rows.values())
        ):
            message = await live.next(timeout)
            if message["type"] == "appliance":
                rows[message["appliance"]["id"]] = message["appliance"]
        return list(rows.values())


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
    drain: asyncio.Task[None] | None = None
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
        # Keep reading its output: a full pipe would block the simulator's writes (and loop).
        drain = asyncio.create_task(_drain(fleet.stdout))
        for index, code in sorted(codes.items()):
            added = await api.post(
                f"/api/v1/organizations/{org_id}/appliances",
                {"code": code, "name": f"box-{index:03d}"},
            )
            assert added.status == 201, added
        await all_green(api, org_id, timeout=60)

        second = await restarted(hub)
        again = api_session(second)
        again.cookies = dict(api.cookies)
        rows = await all_green(again, org_id, timeout=90)
        assert len({row["id"] for row in rows}) == COUNT
        assert fleet.returncode is None, "the simulator is still running"
    finally:
        fleet.terminate()
        async with asyncio.timeout(20):
            await fleet.wait()
        if drain is not None:
            await drain
        if second is not None:
            await second.stop(deadline=10)


async def _drain(stream: asyncio.StreamReader) -> None:
    """Read and drop the simulator's output until it exits."""
    while await stream.readline():
        pass
