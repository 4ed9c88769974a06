"""Appliance list benchmark: `GET /api/v1/organizations/{org}/appliances` at 5,000 appliances.

The reconnect-storms issue (item 7) asks for p99 ≤ 50 ms for an organization of 5,000
appliances, also with 20 concurrent clients. One run, so the ratios compare like with like:

1. A real `web.hub.Hub` in this process (default configuration, temporary data directory,
   embedded store, port 0 on 127.0.0.1). One confirmed user, one organization, `APPLIANCES`
   appliances added straight to the store; the user logs in through the API.
2. Baseline: a bare Tornado HTTPS server in the same process and loop, answering a constant
   body of the same bytes as the hub's compressed answer (what serving those bytes costs at
   all).
3. Load: a subprocess (`--client`), so the client's TLS and parsing never run on the hub's
   loop. For each target (bare, hub) and each concurrency (1, 20) it sends `REQUESTS`
   requests from that many concurrent workers on kept-alive connections (gzip accepted, as a
   browser does; the answer is timed as it arrives, not decompressed, and one TLS context is
   shared by every request: Tornado makes a new default context per request otherwise, ~50 ms
   of the client's CPU each, which once was most of the latency measured) and reports each
   request's latency.
4. Storm: the same at 20 concurrent clients while `CHANGES_PER_SECOND` appliance statuses
   change (told to the organization's actor, as appliance actors do), so that the list is
   built again between reads.
5. Encoding cost per read, in process: the old way (pydantic models of 5,000 views per
   request) against the listing's rebuild after a change (median of `ROUNDS`).

Run: `python bench/appliance_list.py` (in `make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import ssl
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# `python bench/x.py` puts bench/ first on sys.path, where bench/actors.py would shadow the
# hub's `actors` package.
sys.path[:] = [entry for entry in sys.path if Path(entry or os.curdir).resolve() != BENCH_DIR]
sys.path.insert(0, str(REPO_ROOT))

import tornado.httpclient  # noqa: E402
import tornado.httpserver  # noqa: E402
import tornado.netutil  # noqa: E402
import tornado.web  # noqa: E402

from bench.common import emit, percentile, progress  # noqa: E402

APPLIANCES = 5_000
REQUESTS = 200
CONCURRENCY = (1, 20)
CHANGES_PER_SECOND = 200
ROUNDS = 5
PASSWORD = "Bench list 5000 appliances!"  # noqa: S105 - a throwaway bench account


class BareBody(tornado.web.RequestHandler):
    """The baseline: the same bytes, with nothing computed."""

    body = b""  # gzip-compressed, as the hub answers a browser

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Content-Encoding", "gzip")
        self.finish(self.body)


async def add_fleet(hub: Any) -> tuple[str, str]:
    """A confirmed user and an organization of `APPLIANCES` appliances; (email, org id)."""
    from mykerio.models import Appliance, Organization, User, new_id
    from mykerio.security.passwords import PRODUCTION_PARAMETERS, PasswordHasher

    store = hub.store
    now = datetime.now(UTC)
    password_hash = await asyncio.to_thread(PasswordHasher(PRODUCTION_PARAMETERS).hash, PASSWORD)
    user = await store.users.add(
        User(
            id=new_id(),
            email="list@bench.example",
            full_name="List Bench",
            password_hash=password_hash,
            created_at=now,
            confirmed_at=now,
            password_changed_at=now,
        )
    )
    org = await store.organizations.add(Organization(id=new_id(), name="Bench", created_at=now))
    await store.organizations.add_member(org.id, user.id, now)
    for index in range(APPLIANCES):
        await store.appliances.add(
            Appliance(
                id=new_id(),
                org_id=org.id,
                product=("control", "connect", "operator")[index % 3],
                version="9.4.0",
                name=f"Appliance {index:05d}",
                public_key=os.urandom(32),
                serial="",
                ip=f"198.51.{index // 250}.{index % 250}",
                status="green",
                status_reasons=(),
                pending_notifications=0,
                created_at=now,
                last_seen=now,
                connected=False,
            )
        )
    return user.email, org.id


async def log_in(base: str, email: str) -> str:
    """The Cookie header of a logged-in session."""
    client = tornado.httpclient.AsyncHTTPClient()
    csrf = await client.fetch(f"{base}/api/v1/csrf", validate_cert=False)
    cookies = {}
    for header in csrf.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.partition(";")[0]
    xsrf = cookies["__Host-xsrf"]
    answer = await client.fetch(
        f"{base}/api/v1/sessions",
        method="POST",
        body=json.dumps({"email": email, "password": PASSWORD}),
        headers={
            "Content-Type": "application/json",
            "X-XSRFToken": xsrf,
            "Cookie": f"__Host-xsrf={xsrf}",
            "Origin": base,
        },
        validate_cert=False,
    )
    for header in answer.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.partition(";")[0]
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


async def run_client(args: list[str]) -> dict[str, Any]:
    """Run the load subprocess with `args`; its JSON result line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client", *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the load client failed ({process.returncode})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def storm(hub: Any, org_id: str, stop: asyncio.Event) -> int:
    """Tell the organization's actor `CHANGES_PER_SECOND` status changes a second until `stop`."""
    import dataclasses

    from actors.organization import OrganizationActor
    from mykerio.appliances.view import ApplianceView

    assert hub.store is not None
    assert hub.router is not None
    views = [ApplianceView.of(a) for a in await hub.store.appliances.in_org(org_id)]
    organization = hub.router.organization(org_id)
    changes, tick = 0, 0.05
    per_tick = max(1, int(CHANGES_PER_SECOND * tick))
    while not stop.is_set():
        for _ in range(per_tick):
            view = views[changes % len(views)]
            status = ("green", "red")[(changes // len(views) + 1) % 2]
            organization.tell(
                OrganizationActor.appliance_changed, dataclasses.replace(view, status=status)
            )
            changes += 1
        await asyncio.sleep(tick)  # a pace, not a wait for an event
    return changes


def encoding_costs(views: list[Any]) -> dict[str, float]:
    """Milliseconds per read: pydantic per request (the old way) against the listing."""
    import dataclasses

    from mykerio.appliances.listing import Listing
    from web.models.appliances import Appliance as ApplianceModel
    from web.models.appliances import Appliances

    old, new = [], []
    listing = Listing()
    for view in views:
        listing[view.id] = view
    for round_ in range(ROUNDS):
        started = time.perf_counter()
        Appliances(appliances=[ApplianceModel.model_validate(v) for v in views]).model_dump(
            mode="json"
        )
        old.append((time.perf_counter() - started) * 1000)
        changed = views[round_]
        listing[changed.id] = dataclasses.replace(changed, status="red")
        started = time.perf_counter()
        listing.json_array()
        new.append((time.perf_counter() - started) * 1000)
    return {"pydantic_ms": statistics.median(old), "listing_ms": statistics.median(new)}


async def run() -> dict[str, Any]:
    from mykerio.appliances.view import ApplianceView
    from mykerio.config import load_config
    from web.hub import Hub

    with tempfile.TemporaryDirectory(prefix="mykerio-list-bench-") as workdir:
        config = load_config(
            overrides={
                "server.port": 0,
                "server.host": "127.0.0.1",
                "hub.data_dir": str(Path(workdir) / "data"),
                "hub.dev_mode": True,
                "log.level": "warning",
            }
        )
        hub = Hub(config)
        await hub.start()
        try:
            progress(f"adding {APPLIANCES} appliances")
            email, org_id = await add_fleet(hub)
            base = hub.url
            cookie = await log_in(base, email)
            list_url = f"{base}/api/v1/organizations/{org_id}/appliances"
            first = await tornado.httpclient.AsyncHTTPClient().fetch(
                list_url,
                headers={"Cookie": cookie, "Accept-Encoding": "gzip"},
                validate_cert=False,
                decompress_response=False,
            )
            assert first.headers.get("Content-Encoding") == "gzip", "the list came uncompressed"
            BareBody.body = first.body
            sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
            bare = tornado.httpserver.HTTPServer(
                tornado.web.Application([("/", BareBody)]),
                ssl_options=hub._server.ssl_options if hub._server else None,
            )
            bare.add_sockets(sockets)
            bare_url = f"https://127.0.0.1:{sockets[0].getsockname()[1]}/"
            results: dict[str, Any] = {
                "body_bytes": len(gzip.decompress(first.body)),
                "gzip_bytes": len(first.body),
            }
            for concurrency in CONCURRENCY:
                for name, url in (("bare", bare_url), ("hub", list_url)):
                    progress(f"{name}, {concurrency} concurrent")
                    results[f"{name}_{concurrency}"] = await run_client(
                        [url, cookie, str(concurrency), str(REQUESTS)]
                    )
            progress(f"hub, 20 concurrent, {CHANGES_PER_SECOND} changes/s")
            stop = asyncio.Event()
            changing = asyncio.create_task(storm(hub, org_id, stop))
            results["hub_20_storm"] = await run_client([list_url, cookie, "20", str(REQUESTS)])
            stop.set()
            results["storm_changes"] = await changing
            assert hub.store is not None
            views = [ApplianceView.of(a) for a in await hub.store.appliances.in_org(org_id)]
            results["encoding"] = encoding_costs(views)
            bare.stop()
            return results
        finally:
            await hub.stop()


async def client(url: str, cookie: str, concurrency: int, requests: int) -> None:
    """The load subprocess: `requests` GETs from `concurrency` workers; one JSON line."""
    http = tornado.httpclient.AsyncHTTPClient(max_clients=concurrency)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    latencies: list[float] = []
    failures = 0
    left = requests

    async def worker() -> None:
        nonlocal left, failures
        while left > 0:
            left -= 1
            started = time.perf_counter()
            answer = await http.fetch(
                url,
                headers={"Cookie": cookie, "Accept-Encoding": "gzip"},
                ssl_options=context,
                decompress_response=False,
                raise_error=False,
            )
            latencies.append((time.perf_counter() - started) * 1000)
            failures += answer.code != 200

    for _ in range(min(concurrency, 4)):  # warm the connections and the caches
        await http.fetch(url, headers={"Cookie": cookie}, ssl_options=context)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    emit(
        {
            "p50_ms": statistics.median(latencies),
            "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies),
            "per_second": len(latencies) / wall,
            "failures": failures,
        }
    )


def report(results: dict[str, Any]) -> None:
    print(
        f"\nAppliance list, {APPLIANCES} appliances, {results['body_bytes']:,} bytes a list "
        f"({results['gzip_bytes']:,} compressed)"
    )
    print(f"{'case':<26}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'req/s':>8}{'p99/bare':>10}")
    for concurrency in CONCURRENCY:
        bare = results[f"bare_{concurrency}"]
        for name in ("bare", "hub"):
            row = results[f"{name}_{concurrency}"]
            ratio = row["p99_ms"] / bare["p99_ms"]
            label = f"{name}, {concurrency} concurrent"
            print(
                f"{label:<26}{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}{row['max_ms']:>9.1f}"
                f"{row['per_second']:>8.1f}{ratio:>10.2f}"
            )
    storm_row = results["hub_20_storm"]
    ratio = storm_row["p99_ms"] / results["bare_20"]["p99_ms"]
    label = f"hub, 20, {CHANGES_PER_SECOND} changes/s"
    print(
        f"{label:<26}{storm_row['p50_ms']:>9.1f}{storm_row['p99_ms']:>9.1f}"
        f"{storm_row['max_ms']:>9.1f}{storm_row['per_second']:>8.1f}{ratio:>10.2f}"
    )
    encoding = results["encoding"]
    print(
        f"encoding per read: pydantic {encoding['pydantic_ms']:.1f} ms, listing after a change "
        f"{encoding['listing_ms']:.2f} ms (median of {ROUNDS})"
    )
    failed = sum(
        results[key]["failures"]
        for key in results
        if isinstance(results[key], dict) and "failures" in results[key]
    )
    print(
        "target: hub p99 ≤ 50 ms at 20 concurrent"
        + (f"; {failed} requests failed" if failed else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--client", nargs=4, metavar=("URL", "COOKIE", "CONCURRENCY", "N"))
    args = parser.parse_args()
    if args.client:
        url, cookie, concurrency, requests = args.client
        asyncio.run(client(url, cookie, int(concurrency), int(requests)))
        return
    results = asyncio.run(run())
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "appliance_list.json").write_text(json.dumps(results, indent=2))
    report(results)
    if any(isinstance(row, dict) and row.get("failures") for row in results.values()):
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
