"""The two kinds of model the API uses, and the JSON types they share.

A request model is strict: no field the model does not name (`extra="forbid"`), no coercion (a
number is not a string, "true" is not a boolean). A response model is built from the domain's
dataclasses (`from_attributes`) and written as JSON exactly as the handlers always wrote it:
times in ISO 8601 with their offset (`datetime.isoformat`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema


class RequestModel(BaseModel):
    """A JSON request body: strict, and unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ResponseModel(BaseModel):
    """A JSON answer, built from the domain's dataclasses or from keyword arguments."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, frozen=True)


# `isoformat()`, not pydantic's "Z" form: the pages and API clients already parse this one.
Timestamp = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Message(ResponseModel):
    """A sentence for people, such as "We sent a confirmation link to ana@example.com."."""

    message: str


class Sent(ResponseModel):
    """A code was texted; to this masked number."""

    sent_to: str


class ErrorDetail(ResponseModel):
    """What went wrong: a stable code, words for people, and the request id for support."""

    code: str = Field(description="Stable, machine-readable")
    message: str = Field(description="For people")
    request_id: str
    field: str | None = Field(None, description="The request field at fault, if one is")
    rule: str | None = Field(None, description="Which rule the field breaks, if known")
    retry_after: int | None = Field(None, description="Seconds to wait (429 only)")


class Error(ResponseModel):
    """Every error answer has this shape."""

    error: ErrorDetail


class Page(ResponseModel):
    """Base of newest-first lists: `next_cursor` fetches the next page ("" on the last)."""

    next_cursor: str = Field(description='Pass as `cursor` for the next page; "" on the last')


class PageQuery(RequestModel):
    """The query of a newest-first list."""

    limit: int = Field(50, ge=1, le=200, description="Items per page")
    cursor: str = Field("", description="`next_cursor` of the previous page")
