"""Shared definitions benchmark: one change acknowledged by N connected Kerio Control simulators.

Issue 13, item 9. One process, one loop: a real `web.hub.Hub` (production configuration but a
temporary data directory and port 0; SQLite store; TLS on loopback) and N simulated Kerio
Controls (`mykerio.agent.link.ApplianceLink`, protocol 2, each with its own
`LocalDefinitions`), paired through the API as a member would. Then `ROUNDS` times, one change
(`POST .../definitions/ip_address_groups/groups/{id}/entries`, a new Host) is timed from just
before the API call until the hub has the N-th `definitions_applied` of that version (counted
on the hub's bus, `DefinitionsSyncChanged`), with the time until the last simulator applied it
beside it. Percentiles by nearest rank over the rounds.

The simulators share the hub's loop and its 2 cores, so every figure includes their work too:
with real boxes elsewhere the hub's share is smaller. Usage:
`python bench/definitions.py [--count N] [--rounds R]` (default N = 200, R = 20); the issue's
1,000 is `--count 1000` (pairing them takes a while). Results go to
bench/results/definitions.json.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.appliances import HubApi
from bench.common import percentile, progress
from mykerio.agent.definitions import LocalDefinitions
from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.config import load_config
from mykerio.definitions.events import DefinitionsSyncChanged
from mykerio.definitions.model import Kind
from mykerio.logs import configure_logging
from mykerio.models import User, new_id
from mykerio.security.passwords import PRODUCTION_PARAMETERS, PasswordHasher
from web.hub import Hub

EMAIL = "bench@definitions.example"
PASSWORD = "Bench-Definitions-Tulip-7"  # noqa: S105 - a made-up benchmark password
WAIT = 120.0
RESULTS = Path(__file__).resolve().parent / "results" / "definitions.json"


async def add_member(hub: Hub) -> None:
    """A confirmed member, written straight to the store (no mail round trip)."""
    config = hub.config
    parameters = dataclasses.replace(
        PRODUCTION_PARAMETERS,
        time_cost=config.accounts.password_hash_iterations,
        memory_cost=config.accounts.password_hash_memory_kib,
    )
    password_hash = await asyncio.to_thread(PasswordHasher(parameters).hash, PASSWORD)
    now = datetime.now(UTC)
    assert hub.store is not None
    await hub.store.users.add(
        User(
            id=new_id(),
            email=EMAIL,
            full_name="Bench",
            password_hash=password_hash,
            created_at=now,
            confirmed_at=now,
            password_changed_at=now,
        )
    )


async def pair(
    hub: Hub, api: HubApi, org_id: str, workdir: Path, count: int
) -> list[tuple[ApplianceLink, asyncio.Task[None]]]:
    """Start `count` Kerio Control simulators and add each one by its code."""
    endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    links = []
    for index in range(count):
        profile = Profile("control", "9.4.0", host_name=f"gw-{index}")
        link = ApplianceLink(
            IdentityStore(workdir / f"appliance-{index}"),
            profile,
            endpoint,
            definitions=LocalDefinitions(),
        )
        links.append((link, asyncio.create_task(link.run())))
    for index, (link, _task) in enumerate(links):
        view = await link.wait_for(lambda v: v.add_link is not None, WAIT)
        assert view.add_link is not None
        code = parse_qs(urlparse(view.add_link).fragment)["code"][0]
        body = {"code": code, "name": f"gw-{index}"}
        status, answer = await asyncio.to_thread(
            api.request, "POST", f"/api/v1/organizations/{org_id}/appliances", body
        )
        if status != 201:
            raise RuntimeError(f"add appliance: {status} {answer}")
        if index % 50 == 49:
            progress(f"paired {index + 1}/{count}")
    for link, _task in links:
        await link.wait_for(lambda v: v.phase == "linked", WAIT)
    return links


async def measure(count: int, rounds: int) -> dict[str, Any]:
    """Run the hub and the fleet; the per-round figures."""
    with tempfile.TemporaryDirectory(prefix="bench-definitions-") as tmp:
        workdir = Path(tmp)
        config = load_config(overrides={"server.port": 0, "hub.data_dir": str(workdir / "data")})
        # Warnings and errors only, on stderr: stdout keeps the report.
        configure_logging("console", "warning", sys.stderr)
        hub = Hub(config)
        await hub.start()
        links: list[tuple[ApplianceLink, asyncio.Task[None]]] = []
        try:
            await add_member(hub)
            api = HubApi(hub.url, hub.config.data_dir / "tls" / "cert.pem")
            await asyncio.to_thread(api.log_in, EMAIL, PASSWORD)
            org_id = await asyncio.to_thread(api.create_organization, "Bench definitions")
            links = await pair(hub, api, org_id, workdir, count)
            base = f"/api/v1/organizations/{org_id}/definitions/ip_address_groups"
            status, group = await asyncio.to_thread(
                api.request, "POST", f"{base}/groups", {"name": "Bench"}
            )
            if status != 201:
                raise RuntimeError(f"create group: {status} {group}")
            await asyncio.gather(*(wait_version(link, 1) for link, _ in links))
            acked = asyncio.Event()
            counted = [0]

            def on_sync(event: DefinitionsSyncChanged) -> None:
                counted[0] += 1
                if counted[0] >= count:
                    acked.set()

            subscription = hub.bus.subscribe(DefinitionsSyncChanged, on_sync)
            to_ack: list[float] = []
            to_apply: list[float] = []
            for round_number in range(rounds):
                version = 2 + round_number
                counted[0] = 0
                acked.clear()
                entry = {
                    "type": "Host",
                    "host": f"10.1.{round_number // 250}.{round_number % 250 + 1}",
                }
                started = time.perf_counter()
                status, answer = await asyncio.to_thread(
                    api.request, "POST", f"{base}/groups/{group['id']}/entries", entry
                )
                if status != 201:
                    raise RuntimeError(f"add entry: {status} {answer}")
                applied = asyncio.gather(*(wait_version(link, version) for link, _ in links))
                await applied
                to_apply.append(time.perf_counter() - started)
                async with asyncio.timeout(WAIT):
                    await acked.wait()
                to_ack.append(time.perf_counter() - started)
            subscription.cancel()
            status, view = await asyncio.to_thread(api.request, "GET", base)
            in_sync = sum(1 for a in view["appliances"] if a["state"] == "in_sync")
            await asyncio.to_thread(api.close)
            return {
                "count": count,
                "rounds": rounds,
                "in_sync_at_end": in_sync,
                "ack_seconds": to_ack,
                "apply_seconds": to_apply,
            }
        finally:
            for link, _task in links:
                link.stop()
            await asyncio.gather(*(task for _, task in links), return_exceptions=True)
            await hub.stop(deadline=10.0)


async def wait_version(link: ApplianceLink, version: int) -> None:
    assert link.definitions is not None
    await link.definitions.wait_for(lambda d: d.version(Kind.IP) >= version, WAIT)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="Kerio Control simulators")
    parser.add_argument("--rounds", type=int, default=20, help="changes timed")
    args = parser.parse_args()
    result = asyncio.run(measure(args.count, args.rounds))
    ack, apply = result["ack_seconds"], result["apply_seconds"]
    summary = {
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        **{k: v for k, v in result.items() if not k.endswith("_seconds")},
        "ack_p50": percentile(ack, 50),
        "ack_p99": percentile(ack, 99),
        "ack_max": max(ack),
        "apply_p50": percentile(apply, 50),
        "apply_max": max(apply),
    }
    print(f"Shared definitions: one change to {args.count} Kerio Control simulators")
    print(f"({args.rounds} changes; the simulators share the hub's process and loop)")
    print("| from the API call to          | p50 | p99 | max |")
    print("|-------------------------------|----:|----:|----:|")
    print(
        f"| the last simulator applied it | {ms(summary['apply_p50'])} | "
        f"{ms(percentile(apply, 99))} | {ms(summary['apply_max'])} |"
    )
    print(
        f"| the hub has every answer      | {ms(summary['ack_p50'])} | "
        f"{ms(summary['ack_p99'])} | {ms(summary['ack_max'])} |"
    )
    print(f"in sync at the end: {result['in_sync_at_end']}/{args.count} (target: ≤ 2 s p99)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**summary, **result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
