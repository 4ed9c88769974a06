"""The API's request and response models: what a bad body answers, and that the models'
enums stay those of the domain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pydantic
import pytest

from mykerio.accounts import audit, login
from tests.api_client import ApiSession
from web.models.audit import AccessAction
from web.models.errors import field_error
from web.models.sessions import LoginRequest, Method
from web.models.settings import Session


def test_the_models_enums_are_the_domains() -> None:
    """The enums the document shows are exactly the values the domain accepts."""
    assert set(get_args(Method)) == set(login.METHODS)
    assert set(get_args(AccessAction)) == set(audit.ACTIONS)


def _first_error(body: dict[str, object]) -> tuple[str, str, str]:
    with pytest.raises(pydantic.ValidationError) as invalid:
        LoginRequest.model_validate(body)
    error = field_error(invalid.value)
    return error.field, error.rule, error.message


def test_the_first_bad_field_is_named_unknown_fields_first() -> None:
    """An unknown field is named before a missing or mistyped one; then the model's order."""
    assert _first_error({"email": 1, "pasword": "x"}) == (
        "pasword",
        "unknown_field",
        'Unknown field "pasword".',
    )
    assert _first_error({"password": "x"}) == ("email", "required", "email is required.")
    assert _first_error({"email": "a@b.example", "password": 7}) == (
        "password",
        "type",
        "password must be a string.",
    )
    assert _first_error({"email": "a", "password": "b", "keep_logged_in": "yes"}) == (
        "keep_logged_in",
        "type",
        "keep_logged_in must be true or false.",
    )
    long_name = "x" * 100
    assert _first_error({long_name: 1})[0] == "x" * 64 + "…"


def test_times_are_written_as_isoformat_with_their_offset() -> None:
    """Answers keep the `datetime.isoformat()` form ("+00:00"), not pydantic's "Z"."""
    at = datetime(2026, 12, 2, 15, 30, 1, 250000, tzinfo=UTC)
    session = Session(
        id="s",
        device="Firefox",
        ip="127.0.0.1",
        created_at=at,
        last_seen=at,
        expires_at=at,
        persistent=False,
        current=True,
    )
    assert session.model_dump(mode="json")["created_at"] == "2026-12-02T15:30:01.250000+00:00"


async def test_a_bad_body_answers_400_naming_the_field_and_the_rule(api: ApiSession) -> None:
    """Over HTTP: a missing field, a wrong JSON type and a value outside an enum each answer the
    JSON 400 with `field` and `rule`."""
    missing = await api.post("/api/v1/registrations", {"email": "ana@acme.example"})
    assert missing.status == 400, missing
    assert (missing.json["error"]["field"], missing.json["error"]["rule"]) == (
        "full_name",
        "required",
    )
    assert missing.json["error"]["code"] == "invalid_input"
    mistyped = await api.post("/api/v1/sessions", {"email": ["ana"], "password": "x"})
    assert (mistyped.status, mistyped.json["error"]["field"]) == (400, "email")
    assert mistyped.json["error"]["rule"] == "type"
    choice = await api.post("/api/v1/sessions/second-factor", {"method": "fax", "code": "1"})
    assert (choice.status, choice.json["error"]["field"]) == (400, "method")
    assert choice.json["error"]["rule"] == "choice"
    not_an_object = await api.post("/api/v1/sessions", ["email"])
    assert not_an_object.status == 400
    assert not_an_object.json["error"]["message"] == "The request body must be a JSON object."
