"""The OpenAPI 3.1 document, built from the route table so no route can go undocumented."""

from __future__ import annotations

import dataclasses
from typing import Any

import tornado.web

import mykerio

_ERROR = {"$ref": "#/components/schemas/Error"}
_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "Stable, machine-readable"},
                    "message": {"type": "string", "description": "For people"},
                    "request_id": {"type": "string"},
                },
            }
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "Hub": {
        "type": "object",
        "required": ["name", "version"],
        "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
    },
}


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """One entry of the route table: a Tornado pattern, its handler, and its documented path."""

    pattern: str
    handler: type[tornado.web.RequestHandler]
    kwargs: dict[str, Any]
    # The OpenAPI path (`/api/v1/things/{id}`); None only for static files.
    path: str | None


def _operation(spec: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, answer in spec["responses"].items():
        content_type = answer.get("content_type", "application/json")
        schema = answer.get("schema", {"type": "string"})
        responses[status] = {
            "description": answer["description"],
            "content": {content_type: {"schema": schema}},
        }
    responses.setdefault(
        "default",
        {"description": "Error", "content": {"application/json": {"schema": _ERROR}}},
    )
    operation = {"summary": spec["summary"], "tags": spec.get("tags", []), "responses": responses}
    if "parameters" in spec:
        operation["parameters"] = spec["parameters"]
    if "body" in spec:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": spec["body"]}},
        }
    return operation


def op(
    summary: str,
    tag: str,
    responses: dict[str, str],
    *,
    body: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A compact way to describe an operation: `body` and `query` map names to JSON types."""
    spec: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "responses": {
            status: {"description": text, "schema": {"type": "object"}}
            for status, text in responses.items()
        },
    }
    if body is not None:
        spec["body"] = {
            "type": "object",
            "properties": {name: {"type": kind} for name, kind in body.items()},
        }
    if query is not None:
        spec["parameters"] = [
            {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
            for name, kind in query.items()
        ]
    return spec


def build_document(routes: list[Route]) -> dict[str, Any]:
    """Describe every documented route and each method its handler declares."""
    paths: dict[str, Any] = {}
    for route in routes:
        if route.path is None:
            continue
        operations = getattr(route.handler, "openapi", {})
        if not operations:
            msg = f"{route.handler.__name__} serves {route.path} but documents no method"
            raise ValueError(msg)
        paths[route.path] = {method: _operation(spec) for method, spec in operations.items()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MyKerio Hub API",
            "version": mykerio.__version__,
            "description": "Monitor and manage Kerio appliances of many organizations. "
            "Every error has the `Error` shape with a stable `code`.",
        },
        "paths": paths,
        "components": {"schemas": _SCHEMAS},
    }
