"""Isolation: every organization-scoped route answers a non-member exactly like a missing id.

The routes come from the OpenAPI document, so a route added later is covered without touching
this test: any operation that names an organization (a `{…}` path parameter, an `org_id` query
parameter or body field) is called by an outsider with a real foreign id and with a random one.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.api_client import ApiResult, ApiSession
from tests.conftest import api_session
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from web.hub import Hub


def body_schema(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of the operation's request body (its `$ref` followed), or {}."""
    schema: dict[str, Any] = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
    )
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def scoped_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, body schema) for every operation that names an organization."""
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            body = body_schema(document, operation)
            if (
                "{" in path
                or "org_id" in query
                or "org" in query
                or "org_id" in body.get("properties", {})
            ):
                found.append((path, method, {**operation, "body": body}))
    return found


def _example(schema: dict[str, Any]) -> Any:
    """A value of the field's JSON type (its first choice for an enum)."""
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:  # (an optional field: its first choice)
        return _example(schema["anyOf"][0])
    if schema.get("type") == "array":
        return [_example(schema.get("items", {}))]
    if schema.get("format") == "date-time":
        return "2030-01-01T00:00:00+00:00"
    return {"boolean": True, "integer": 1, "number": 1}.get(schema.get("type", ""), "x")


async def call(
    client: ApiSession, path: str, method: str, operation: dict[str, Any], ids: dict[str, str]
) -> ApiResult:
    # Ids this test has no real object for (e.g. appliance_id) get a random value: the
    # organization id already belongs to someone else, which must be enough for a 404.
    url = re.sub(r"\{([a-z_]+)\}", lambda m: ids.get(m.group(1), secrets.token_hex(16)), path)
    query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    if "org_id" in query:
        url += f"?org_id={ids['org_id']}"
    elif "org" in query:
        url += f"?org={ids['org_id']}"
    # A body of the right shape (its required fields, of their types): a missing or unknown
    # field is refused (400) whoever asks, before anyone looks at the organization.
    schema = operation["body"]
    body = {name: _example(schema["properties"][name]) for name in schema.get("required", ())}
    if "org_id" in schema.get("properties", {}):
        body["org_id"] = ids["org_id"]
    return await client.request(method.upper(), url, body)


async def test_every_organization_route_hides_other_organizations(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """An outsider gets 404 not_found from every organization-scoped operation, for a real
    foreign id exactly as for a random one; a member gets through."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    invited = await api.post(
        f"/api/v1/organizations/{org_id}/invitations", {"email": "carl@third.example"}
    )
    view = (await api.get(f"/api/v1/organizations/{org_id}")).json
    real = {
        "org_id": org_id,
        "invitation_id": invited.json["id"],
        "user_id": view["members"][0]["user_id"],
    }
    fake = {name: secrets.token_hex(16) for name in real}
    outsider = api_session(hub, user_agent="outsider")
    await member(outsider, smtp_server, "mallory@evil.example", "Mallory")

    document = (await api.get("/api/v1/openapi.json")).json
    operations = scoped_operations(document)
    assert len(operations) >= 10, "the walk found the organization routes"
    for path, method, operation in operations:
        if path == "/api/v1/live":
            continue  # a websocket: covered below
        foreign = await call(outsider, path, method, operation, real)
        missing = await call(outsider, path, method, operation, fake)
        where = f"{method.upper()} {path}"
        assert foreign.status == 404, f"{where}: {foreign}"
        assert missing.status == 404, f"{where}: {missing}"
        assert foreign.error_code == missing.error_code == "not_found", where

    assert (await api.get(f"/api/v1/organizations/{org_id}")).status == 200
    assert (await api.get(f"/api/v1/organizations/{org_id}/activity")).status == 200
    assert (await api.get(f"/api/v1/audit?org_id={org_id}")).status == 200
    # The outsider's attempts changed nothing.
    after = (await api.get(f"/api/v1/organizations/{org_id}")).json
    assert after["name"] == view["name"]
    assert [i["email"] for i in after["invitations"]] == ["carl@third.example"]
    assert len(after["members"]) == 1


async def test_live_socket_refuses_other_organizations(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """The live socket of another organization answers 404 like a missing one."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    outsider = api_session(hub)
    await member(outsider, smtp_server, "mallory@evil.example", "Mallory")
    for target in (org_id, secrets.token_hex(16)):
        request = HTTPRequest(
            hub.url.replace("https://", "wss://") + f"/api/v1/live?org={target}",
            headers={
                "Cookie": "; ".join(f"{k}={v}" for k, v in outsider.cookies.items()),
                "Origin": hub.url,
            },
            ssl_options=outsider.ssl,
        )
        with pytest.raises(HTTPClientError) as refused:
            await websocket_connect(request)
        assert refused.value.code == 404
