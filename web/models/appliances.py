"""Bodies of an organization's appliances: add by pairing code or (a Kerio Control box) by
serial number, rename, status history."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mykerio.protocol.status import Colour
from web.models.base import Page, PageQuery, RequestModel, ResponseModel, Timestamp

SERIAL = "12 letters and digits, like SRLNMR123456 (spaces and dashes are dropped)"
FINGERPRINT = "The box's fingerprint, from the find step"


class AddApplianceRequest(RequestModel):
    """The pairing code of the appliance's "add this appliance" link, and a name for it."""

    code: str
    name: str


class PairingCodeRequest(RequestModel):
    """A pairing code."""

    code: str


class SerialRequest(RequestModel):
    """A Kerio Control box's serial number."""

    serial: str = Field(description=SERIAL)


class AdminChoice(RequestModel):
    """The box's administrator: its existing one, or a new one it creates."""

    serial: str = Field(description=SERIAL)
    box: str = Field(description=FINGERPRINT)
    admin: Literal["existing", "new"]
    username: str
    password: str
    email: str | None = Field(None, description="For a new administrator (else ignored)")
    statistics: bool | None = Field(
        None, description="Usage statistics, for a new administrator (else ignored)"
    )


class BoxSetupRequest(AdminChoice):
    """The last step of adding a box: the administrator, the appliance's name, the EULA."""

    name: str
    eula_accepted: bool = Field(description="Must be true")


class Appliance(ResponseModel):
    """An appliance with its status and why."""

    id: str
    org_id: str
    name: str
    product: str
    version: str
    status: Colour
    reasons: list[str]
    pending: int = Field(description="Notifications not yet seen")
    connected: bool
    ip: str
    last_seen: str = Field(description='ISO 8601; "" if never')


class Appliances(ResponseModel):
    """The organization's appliances, by name."""

    appliances: list[Appliance]


class OrganizationAppliances(ResponseModel):
    """One organization of the user, with its appliances by name."""

    id: str
    name: str
    appliances: list[Appliance]


class Fleet(ResponseModel):
    """The appliances of every organization the user belongs to, organizations by name."""

    organizations: list[OrganizationAppliances]


class HistoryQuery(PageQuery):
    """Paging of the status history."""


class StatusChange(ResponseModel):
    """From `at` on the appliance was `status` for `reasons`."""

    id: str
    at: Timestamp
    status: Colour
    reasons: list[str]


class History(Page):
    """A page of status changes, newest first."""

    changes: list[StatusChange]


class PairingPreview(ResponseModel):
    """The appliance of a pairing code."""

    product: str
    version: str
    name_hint: str
    ip: str


class Box(ResponseModel):
    """A Kerio Control box waiting to be added."""

    serial: str
    product: str
    version: str
    ip: str
    name_hint: str
    box: str = Field(description=FINGERPRINT)
    certified: bool = Field(description="Signed by the maker's factory key")


class BoxAccepts(ResponseModel):
    """The box accepts the administrator choice."""

    ok: Literal[True] = True
