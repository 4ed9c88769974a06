"""The HTTP API against its own OpenAPI document: the document is valid OpenAPI 3.1, and a
bounded schemathesis run with a logged-in session reaches every JSON operation under /api/v1
and gets no 5xx and no answer that breaks the document.

The run sends a few generated requests per operation (bodies and parameters that match the
schemas, and some that do not) to a live hub, with the session cookie and the CSRF header a browser
sends. Operations that end the session or remove what the others work on run last, in
`_LAST`'s order: deleting the organization, ending the other sessions, then logging out.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import hypothesis
import openapi_spec_validator
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from web.hub import Hub

# Examples per operation of each kind: data that matches the schemas, and data that does not
# (wrong types, missing fields), which must be refused with a documented 4xx, never a 5xx.
EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 4, schemathesis.GenerationMode.NEGATIVE: 2}
# Not JSON operations: the dashboard's websocket upgrade.
_SKIPPED = {("GET", "/api/v1/live")}
# Run after every other operation, in this order: each ends what the ones before it need.
_LAST = [
    ("DELETE", "/api/v1/organizations/{org_id}"),
    ("DELETE", "/api/v1/me/sessions"),
    ("DELETE", "/api/v1/sessions"),
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclasses.dataclass
class Outcome:
    """What one operation answered across its examples."""

    statuses: list[int] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)
    # Answers of the router's catch-all 404: the request never reached the operation's handler.
    unrouted: int = 0


async def test_the_openapi_document_is_valid_openapi_3_1(api: ApiSession) -> None:
    """The served document passes openapi-spec-validator; every request body is required and
    forbids unknown fields; every path parameter is declared."""
    document = (await api.get("/api/v1/openapi.json")).json
    openapi_spec_validator.validate(document)
    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", ()) if p["in"] == "path"}
            assert declared == {part[1:-1] for part in path.split("/") if part.startswith("{")}
            if "requestBody" in operation:
                ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                body = schemas[ref.rsplit("/", 1)[1]]
                assert body["additionalProperties"] is False, (method, path)
    registration = schemas["RegistrationRequest"]
    assert set(registration["required"]) == {"full_name", "email", "password"}
    assert schemas["AdminChoice"]["properties"]["admin"]["enum"] == ["existing", "new"]
    assert "Error" in schemas


async def test_schemathesis_finds_no_server_error_and_no_answer_off_the_schema(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Every JSON operation is reached with a logged-in session; none answers 5xx, an
    undocumented status or content type, or a body its schema refuses."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    await api.refresh_csrf()
    document = (await api.get("/api/v1/openapi.json")).json
    schema = schemathesis.openapi.from_dict(document)
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the document must load whole
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if operation.path.startswith("/api/v1/") and key not in _SKIPPED:
            operations.append(operation)
    last = {key: index for index, key in enumerate(_LAST)}
    operations.sort(key=lambda o: last.get((o.method.upper(), o.path), -1))
    headers = {
        "Cookie": "; ".join(f"{k}={v}" for k, v in api.cookies.items()),
        "X-XSRFToken": api.csrf,
        "User-Agent": "schemathesis",
    }
    cafile = str(hub.config.data_dir / "tls" / "cert.pem")

    def run(operation: Any, mode: schemathesis.GenerationMode, outcome: Outcome) -> None:
        # The organization the session's user belongs to, so org-scoped operations get past
        # the membership check; other ids are generated (and mostly answer 404).
        fixed = {"org_id": org_id} if "{org_id}" in operation.path else {}

        @hypothesis.settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        @given(case=operation.as_strategy(mode, path_parameters=fixed))
        def examples(case: Any) -> None:
            response = case.call(base_url=hub.url, headers=headers, verify=cafile, timeout=30)
            outcome.statuses.append(response.status_code)
            if response.status_code == 404 and b"no such page" in response.content:
                outcome.unrouted += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except Exception as failure:  # noqa: BLE001 - every check failure is reported below
                if len(outcome.failures) < 2:
                    outcome.failures.append(f"{case.method} {case.formatted_path}: {failure}")

        try:
            examples()
        except hypothesis.errors.Unsatisfiable:
            # Nothing to get wrong (no body, no parameters): negative data cannot be made.
            assert mode is schemathesis.GenerationMode.NEGATIVE

    def run_all() -> dict[str, Outcome]:
        outcomes = {}
        for operation in operations:
            outcome = outcomes[f"{operation.method.upper()} {operation.path}"] = Outcome()
            # Negative data first: the operations that end the session must come last of all.
            run(operation, schemathesis.GenerationMode.NEGATIVE, outcome)
            run(operation, schemathesis.GenerationMode.POSITIVE, outcome)
        return outcomes

    # schemathesis sends blocking requests: off the loop, which serves them meanwhile.
    outcomes = await asyncio.to_thread(run_all)
    assert len(outcomes) >= 45, sorted(outcomes)
    failures = [failure for outcome in outcomes.values() for failure in outcome.failures]
    assert not failures, "\n\n".join(failures)
    unreached = [name for name, o in outcomes.items() if len(o.statuses) <= o.unrouted]
    assert not unreached, unreached
