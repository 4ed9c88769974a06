"""Tests of the operations endpoints, security headers, JSON errors and the OpenAPI document."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from typing import Any

import pytest
import tornado.web

from web.hub import Hub


async def test_healthz_answers_ok_over_tls(client: Any) -> None:
    """/healthz answers 200 over HTTPS with the self-signed certificate."""
    response = await client.fetch("/healthz")
    assert response.code == 200
    assert json.loads(response.body) == {"status": "ok"}


async def test_readyz_reports_store_and_supervisor(client: Any) -> None:
    """/readyz is 200 with each check ok while the store answers."""
    response = await client.fetch("/readyz")
    assert response.code == 200
    assert json.loads(response.body)["checks"] == {"supervisor": "ok", "store": "ok"}


async def test_readyz_is_503_when_the_store_is_gone(hub: Hub, client: Any) -> None:
    """/readyz turns 503 and names the store when the store cannot answer."""
    assert hub.store is not None
    await hub.store.close()
    response = await client.fetch("/readyz")
    assert response.code == 503
    body = json.loads(response.body)
    assert body["status"] == "unavailable"
    assert body["checks"]["store"].startswith("unavailable")


async def test_every_response_carries_security_headers(client: Any) -> None:
    """Pages, API answers, errors and static files all carry CSP, nosniff, HSTS and no framing."""
    for path in ("/", "/api/v1/hub", "/nowhere", "/static/dashboard.js"):
        response = await client.fetch(path)
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Strict-Transport-Security"].startswith("max-age="), path


async def test_unknown_path_gets_the_json_error_shape(client: Any) -> None:
    """A missing page answers 404 in the one JSON error shape with the request id."""
    response = await client.fetch("/no/such/page", headers={"X-Request-Id": "test-request-1"})
    assert response.code == 404
    error = json.loads(response.body)["error"]
    assert error["code"] == "not_found"
    assert "/no/such/page" in error["message"]
    assert error["request_id"] == "test-request-1"
    assert response.headers["X-Request-Id"] == "test-request-1"


async def test_wrong_method_gets_405_with_allow(client: Any) -> None:
    """A method a route does not serve answers 405 naming the allowed ones, as JSON."""
    response = await client.fetch("/healthz", method="POST", body=b"{}")
    assert response.code == 405
    assert response.headers["Allow"] == "GET"
    assert json.loads(response.body)["error"]["code"] == "method_not_allowed"


async def test_too_large_body_is_refused(hub: Hub, client: Any) -> None:
    """A body over the configured limit is refused before it is read into memory."""
    big = b"x" * (hub.config.server.max_body_bytes + 1)
    response = await client.fetch("/healthz", method="POST", body=big)
    assert response.code in (400, 413) or response.code == 599


async def test_openapi_describes_every_route(hub: Hub, client: Any) -> None:
    """Every route the application serves (but static files) is a path in the OpenAPI document,
    with exactly the methods its handler implements."""
    document = json.loads((await client.fetch("/api/v1/openapi.json")).body)
    assert document["openapi"].startswith("3.")
    assert hub._server is not None
    app: tornado.web.Application = hub._server.request_callback  # type: ignore[assignment]
    served = {}
    for rule in app.wildcard_router.rules:
        target = rule.target
        if not isinstance(target, type) or issubclass(target, tornado.web.StaticFileHandler):
            continue
        pattern = rule.matcher.regex.pattern.rstrip("$")  # type: ignore[attr-defined]
        methods = {
            m.lower()
            for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
            if getattr(target, m.lower()) is not getattr(tornado.web.RequestHandler, m.lower())
        }
        served[pattern] = methods
    assert served, "the application serves routes"
    # The document's `{name}` parameters are one URL segment each in the router.
    documented = {re.sub(r"\{[a-z_]+\}", "([^/]+)", path): path for path in document["paths"]}
    for pattern, methods in served.items():
        assert pattern in documented, f"{pattern} is not in the OpenAPI document"
        assert set(document["paths"][documented[pattern]]) == methods, pattern


async def test_metrics_pass_promtool_and_count_requests(client: Any) -> None:
    """/metrics is valid Prometheus text (promtool) and counts requests, actors and lag."""
    await client.fetch("/healthz")
    await client.fetch("/readyz")
    response = await client.fetch("/metrics")
    assert response.code == 200
    text = response.body.decode()
    assert re.search(
        r'mykerio_http_requests_total\{method="GET",route="/healthz",status="200"\} 1\.0', text
    )
    assert 'mykerio_actors{kind="health"} 1.0' in text
    assert "mykerio_event_loop_lag_seconds_bucket" in text
    assert "# TYPE mykerio_store_operation_duration_seconds histogram" in text
    promtool = shutil.which("promtool")
    assert promtool, "promtool is installed by .ci/install-system-deps"
    checker = await asyncio.create_subprocess_exec(
        promtool,
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    report, _ = await checker.communicate(response.body)
    assert checker.returncode == 0, report.decode()


@pytest.mark.parametrize("path", ["/", "/api/v1/hub"])
async def test_pages_render(client: Any, path: str) -> None:
    """The dashboard shell and the hub info answer 200."""
    response = await client.fetch(path)
    assert response.code == 200
