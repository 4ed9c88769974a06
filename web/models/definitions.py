"""Bodies of the shared definitions API (IP address groups, URL groups, time ranges).

Entries use Kerio Control's own field names (docs/protocol.md, section 9.6); which fields an
entry type uses, and every rule of their values, is checked by `mykerio.definitions`, whose
message names the group, the entry and the rule.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from web.models.base import RequestModel, ResponseModel


class TimeOfDay(RequestModel):
    """Kerio's `Time`: hours 0-23 and minutes 0-59."""

    hour: int
    min: int


class KerioDate(RequestModel):
    """Kerio's `Date`: the month is zero-based (0 is January)."""

    year: int
    month: int = Field(description="0-11")
    day: int


class EntryBody(RequestModel):
    """One entry, in Kerio's field names; only the fields of its `type` may be given."""

    type: str = Field(
        description="Host, Network, Range, IpPrefix, ChildGroup, ThisMachine; Url, "
        "UrlChildGroup; TimeRangeDaily, TimeRangeWeekly, TimeRangeAbsolute"
    )
    description: str | None = None
    enabled: bool | None = None
    host: str | None = None
    addr1: str | None = None
    addr2: str | None = None
    childGroupName: str | None = None  # noqa: N815 - Kerio's field name
    url: str | None = None
    isRegex: bool | None = None  # noqa: N815 - Kerio's field name
    days: list[str] | None = None
    fromDay: str | None = None  # noqa: N815 - Kerio's field name
    toDay: str | None = None  # noqa: N815 - Kerio's field name
    fromTime: TimeOfDay | None = None  # noqa: N815 - Kerio's field name
    toTime: TimeOfDay | None = None  # noqa: N815 - Kerio's field name
    fromDate: KerioDate | None = None  # noqa: N815 - Kerio's field name
    toDate: KerioDate | None = None  # noqa: N815 - Kerio's field name

    def wire(self) -> dict[str, Any]:
        """The entry as the core reads it."""
        return self.model_dump(exclude_none=True)


class GroupRequest(RequestModel):
    """A new group: its name and, optionally, its first entries."""

    name: str
    entries: list[EntryBody] = Field(default_factory=list)


class RenameRequest(RequestModel):
    """A group's new name."""

    name: str


class RevertRequest(RequestModel):
    """Which version's groups to save as the next version."""

    version: int = Field(ge=1)


class ImportRequest(RequestModel):
    """Which local groups of which appliance become shared."""

    appliance_id: str
    names: list[str] = Field(min_length=1, max_length=200)


class Group(ResponseModel):
    """A group and its entries (Kerio's fields)."""

    id: str
    name: str
    entries: list[dict[str, Any]]


class Groups(ResponseModel):
    """Groups (imported ones, or an appliance's local ones)."""

    groups: list[Group]


class ApplianceSync(ResponseModel):
    """One appliance's sync of this kind."""

    appliance_id: str
    name: str
    product: str
    product_version: str
    state: str = Field(description="in_sync, pending, failed, offline or not_eligible")
    version: int | None = Field(description="in_sync: held; pending: being applied; failed: held")
    error: str = Field(description="failed: the appliance's errors")
    reason: str = Field(description="not_eligible: why (product, version, capability)")


class Definitions(ResponseModel):
    """A kind of the organization's shared definitions and every appliance's sync of it."""

    kind: str
    version: int = Field(description="0 while the kind was never changed")
    groups: list[Group]
    appliances: list[ApplianceSync]


class Version(ResponseModel):
    """One saved version of a kind."""

    version: int
    at: str = Field(description="ISO 8601")
    actor_email: str
    change: str = Field(description="What changed from the version before")


class History(ResponseModel):
    """The versions of a kind, newest first."""

    versions: list[Version]


class Reverted(ResponseModel):
    """The version the revert saved."""

    version: int
