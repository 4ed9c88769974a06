"""The OpenAPI 3.1 document, built from the route table so no route can go undocumented.

Each handler describes its methods with `Operation`s naming the request and response models of
`web.models`; the schemas, the path parameters (from the route's `{name}`s), the query
parameters and the required fields all come from those models, so the document cannot drift
from what the handlers read and write.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import tornado.web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

import mykerio
from web.models.base import Error, RequestModel

REF_TEMPLATE = "#/components/schemas/{model}"
_PATH_PARAMETER = re.compile(r"\{([a-z_]+)\}")
# What each path parameter is; ids are opaque strings (an unknown one answers 404).
_PATH_PARAMETERS = {
    "org_id": "The organization's id (32 hex digits)",
    "appliance_id": "The appliance's id",
    "invitation_id": "The invitation's id",
    "user_id": "The member's user id",
    "session_id": "The session's `id` from the list",
}
# Errors any operation of a kind can answer, whatever it documents itself.
_BODY_ERRORS = {
    400: "The body is not a JSON object, or a field is missing, unknown or of the wrong type "
    "(`field` names the first one) or breaks a rule",
    413: "The body is larger than `[server] max_body_bytes`",
    415: "The body is not application/json",
}
_QUERY_ERRORS = {400: "A query parameter is invalid"}
_WRITE_ERRORS = {403: "The CSRF token (X-XSRFToken) is missing or wrong"}
_PATH_ERRORS = {404: "No such thing, or not yours to see"}


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """One successful answer: a JSON model, another media type, or no body at all."""

    description: str
    model: type[BaseModel] | None = None
    # For answers that are not a model (HTML pages, metrics); None with no model: no body.
    media_type: str | None = None
    schema: Mapping[str, Any] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Operation:
    """What one method of a route does, reads and answers."""

    summary: str
    tag: str
    answers: Mapping[int, Answer]
    # Error statuses worth naming for this operation (all share the `Error` shape).
    errors: Mapping[int, str] = dataclasses.field(default_factory=dict)
    body: type[RequestModel] | None = None
    query: type[RequestModel] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """One entry of the route table: a Tornado pattern, its handler, and its documented path."""

    pattern: str
    handler: type[tornado.web.RequestHandler]
    kwargs: dict[str, Any]
    # The OpenAPI path (`/api/v1/things/{id}`); None only for static files.
    path: str | None


def op(
    summary: str,
    tag: str,
    responses: Mapping[str, str],
    *,
    query: type[RequestModel] | None = None,
) -> Operation:
    """An operation with no JSON body either way (websocket upgrades): status → description."""
    answers = {int(s): Answer(text) for s, text in responses.items() if int(s) < 400}
    errors = {int(s): text for s, text in responses.items() if int(s) >= 400}
    return Operation(summary, tag, answers, errors, query=query)


def page(summary: str, tag: str) -> Mapping[str, Operation]:
    """The one GET of an HTML page."""
    html = Answer("HTML page", media_type="text/html", schema={"type": "string"})
    return {"get": Operation(summary, tag, {200: html})}


class _Schemas:
    """Collects the models the operations name; one `models_json_schema` call makes them all."""

    def __init__(self) -> None:
        self.wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Error, "serialization")]

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> tuple[type[BaseModel], str]:
        if (model, mode) not in self.wanted:
            self.wanted.append((model, mode))
        return model, mode

    def build(self) -> tuple[dict[Any, Any], dict[str, Any]]:
        refs, definitions = models_json_schema(self.wanted, ref_template=REF_TEMPLATE)
        return dict(refs), definitions.get("$defs", {})


def _parameters(path: str, query: type[RequestModel] | None) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": _PATH_PARAMETERS.get(name, name),
            "schema": {"type": "string", "minLength": 1},
        }
        for name in _PATH_PARAMETER.findall(path)
    ]
    if query is not None:
        schema = query.model_json_schema(ref_template=REF_TEMPLATE)
        if "$defs" in schema:
            msg = f"{query.__name__}: a query parameter must be a plain value"
            raise ValueError(msg)
        required = set(schema.get("required", ()))
        for name, field_schema in schema["properties"].items():
            parameter = {"name": name, "in": "query", "required": name in required}
            if "description" in field_schema:
                parameter["description"] = field_schema["description"]
            parameter["schema"] = {
                k: v for k, v in field_schema.items() if k not in ("title", "description")
            }
            parameters.append(parameter)
    return parameters


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(model="Error")}}},
    }


def _operation(path: str, method: str, operation: Operation, schemas: _Schemas) -> dict[str, Any]:
    """The operation with `("model", model, mode)` placeholders where schemas go."""
    responses: dict[str, Any] = {}
    for status, answer in sorted(operation.answers.items()):
        described: dict[str, Any] = {"description": answer.description}
        if answer.model is not None:
            schema: Any = ("model", *schemas.ref(answer.model, "serialization"))
            described["content"] = {answer.media_type or "application/json": {"schema": schema}}
        elif answer.media_type is not None:
            described["content"] = {answer.media_type: {"schema": dict(answer.schema or {})}}
        responses[str(status)] = described
    errors: dict[int, str] = {}
    if _PATH_PARAMETER.search(path):
        errors.update(_PATH_ERRORS)
    if operation.query is not None:
        errors.update(_QUERY_ERRORS)
    if method != "get":
        errors.update(_WRITE_ERRORS)
    if operation.body is not None:
        errors.update(_BODY_ERRORS)
    errors.update(operation.errors)
    for status, text in sorted(errors.items()):
        responses[str(status)] = _error(text)
    responses["default"] = _error("Any other error")
    document: dict[str, Any] = {
        "summary": operation.summary,
        "tags": [operation.tag],
        "operationId": _operation_id(path, method),
        "responses": responses,
    }
    parameters = _parameters(path, operation.query)
    if parameters:
        document["parameters"] = parameters
    if operation.body is not None:
        body = ("model", *schemas.ref(operation.body, "validation"))
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return document


def _operation_id(path: str, method: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")
    return f"{method}_{words or 'root'}"


def _fill(value: Any, refs: dict[Any, Any]) -> Any:
    """`value` with each `("model", model, mode)` placeholder replaced by its `$ref`."""
    if isinstance(value, tuple) and value[:1] == ("model",):
        return refs[(value[1], value[2])]
    if isinstance(value, dict):
        return {k: _fill(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, refs) for v in value]
    return value


def build_document(routes: list[Route]) -> dict[str, Any]:
    """Describe every documented route and each method its handler declares."""
    schemas = _Schemas()
    paths: dict[str, Any] = {}
    for route in routes:
        if route.path is None:
            continue
        operations: Mapping[str, Operation] = getattr(route.handler, "openapi", {})
        if not operations:
            msg = f"{route.handler.__name__} serves {route.path} but documents no method"
            raise ValueError(msg)
        paths[route.path] = {
            method: _operation(route.path, method, operation, schemas)
            for method, operation in operations.items()
        }
    refs, definitions = schemas.build()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MyKerio Hub API",
            "version": mykerio.__version__,
            "description": "Monitor and manage Kerio appliances of many organizations. "
            "Every error has the `Error` shape with a stable `code`. State-changing requests "
            "carry the CSRF token of GET /api/v1/csrf as X-XSRFToken.",
        },
        "paths": _fill(paths, refs),
        "components": {"schemas": definitions},
    }
