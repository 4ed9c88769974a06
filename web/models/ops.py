"""Answers of the operations endpoints and of the hub's identity."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from web.models.base import RequestModel, ResponseModel


class Health(ResponseModel):
    """A probe's answer; `checks` says what was looked at."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}


class Hub(ResponseModel):
    """Name and version of this hub."""

    name: str
    version: str


class LiveQuery(RequestModel):
    """Which organization the live socket follows."""

    org: str = Field(description="The organization's id")
