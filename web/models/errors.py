"""A request model's validation error as the API's 400: one `FieldError` naming the first bad
field, with a `rule` a client can act on and words a person can read."""

from __future__ import annotations

import pydantic

from mykerio.accounts.validation import FieldError

# The words for a value of the wrong JSON type, by pydantic's error type.
_TYPES = {
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
}
# Pydantic's error types as the API's `rule`s; any other keeps pydantic's name.
_RULES = {"missing": "required", "literal_error": "choice", **dict.fromkeys(_TYPES, "type")}


def field_error(invalid: pydantic.ValidationError) -> FieldError:
    """The first problem as a `FieldError`: unknown fields first (in the body's order), then
    the model's fields in their order."""
    problems = sorted(invalid.errors(), key=lambda e: e["type"] != "extra_forbidden")
    problem = problems[0]
    name = ".".join(str(part) for part in problem["loc"]) or "body"
    kind = problem["type"]
    if kind == "extra_forbidden":
        return unknown_field(name)
    shown = _shown(name)
    if kind == "missing":
        message = f"{shown} is required."
    elif kind == "literal_error":
        message = f"{shown} must be one of {problem['ctx']['expected']}."
    elif kind in _TYPES:
        message = f"{shown} must be {_TYPES[kind]}."
    else:
        message = f"{shown}: {problem['msg']}."
    return FieldError(shown, message, rule=_RULES.get(kind, kind))


def unknown_field(name: str) -> FieldError:
    """The 400 for a field the body may not have."""
    shown = _shown(name)
    return FieldError(shown, f'Unknown field "{shown}".', rule="unknown_field")


def _shown(name: str) -> str:
    """A field name as an error names it: a long one (an attacker's) is cut."""
    return name if len(name) <= 64 else name[:64] + "…"
