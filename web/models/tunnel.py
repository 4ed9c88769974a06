"""Bodies of "Open administration": the tunnel's address, and which appliances can open."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from web.models.base import ResponseModel


class AdministrationTicket(ResponseModel):
    """Where the new tab goes: the tunnel origin, with a single-use ticket."""

    url: str = Field(description="Open within the ticket's lifetime (at most 60 s), once")


class AdministrationState(ResponseModel):
    """Whether one connected appliance's administration can be opened."""

    appliance_id: str
    state: Literal["available", "off", "unsupported"] = Field(
        description="off: the appliance's owner turned remote administration off"
    )


class AdministrationStates(ResponseModel):
    """The organization's connected appliances and whether each can be opened."""

    appliances: list[AdministrationState]
