"""The definition model in Kerio Control's own terms, and its wire form.

A group is a name shared by a list of typed entries (Kerio has no group object: its entries
carry `groupName`). The hub keeps groups with a stable `id` (sent as the entries' `sharedId`,
so a rename keeps the appliance's group) and their entries in order. Each kind has one entry
class with Kerio's fields (the per-type use of the fields is in `validation`):

- `IpEntry`: `Host` (`host`: IPv4/IPv6 address or hostname), `Network` (`addr1` network,
  `addr2` mask), `Range` (`addr1` from, `addr2` to), `IpPrefix` (`host`: an IPv6 prefix),
  `ChildGroup` (`childGroupName`), `ThisMachine` (the guide's "Firewall");
- `UrlEntry`: `Url` (`url`, `isRegex`) and `UrlChildGroup`;
- `TimeEntry`: `TimeRangeDaily` (`days`, `fromTime`, `toTime`), `TimeRangeWeekly` (`fromDay`
  `fromTime` to `toDay` `toTime`), `TimeRangeAbsolute` (`fromDate` `fromTime` to `toDate`
  `toTime`); times `{hour, min}`, dates `{year, month, day}` with month 0-11 as Kerio has it.

`parse_groups` reads the wire form (from the API or an appliance's import) and raises
`DefinitionError` naming the group, the entry and the rule; `groups_to_wire` writes it.
"""

from __future__ import annotations

import enum
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeGuard

from mykerio.errors import InvalidInput


class Kind(enum.Enum):
    """A kind of shared definition; the value is its name in URLs, the store and the wire."""

    IP = "ip_address_groups"
    URL = "url_groups"
    TIME = "time_ranges"

    @property
    def kerio_type(self) -> str:
        """Kerio's `SharedDefinitionType` name."""
        return _KERIO_TYPES[self]

    @property
    def interface(self) -> str:
        """Kerio's JSON-RPC interface for this kind."""
        return _INTERFACES[self]

    @property
    def title(self) -> str:
        """What the dashboard calls it."""
        return _TITLES[self]


_KERIO_TYPES = {
    Kind.IP: "SharedDefinitionIpAddrGroup",
    Kind.URL: "SharedDefinitionUrlGroup",
    Kind.TIME: "SharedDefinitionTimeRange",
}
_INTERFACES = {Kind.IP: "IpAddressGroups", Kind.URL: "UrlGroups", Kind.TIME: "TimeRanges"}
_TITLES = {Kind.IP: "IP address group", Kind.URL: "URL group", Kind.TIME: "time range"}

IP_TYPES = ("Host", "Network", "Range", "IpPrefix", "ChildGroup", "ThisMachine")
URL_TYPES = ("Url", "UrlChildGroup")
TIME_TYPES = ("TimeRangeDaily", "TimeRangeWeekly", "TimeRangeAbsolute")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CHILD_TYPES = frozenset({"ChildGroup", "UrlChildGroup"})


@dataclass(frozen=True, slots=True, order=True)
class Time:
    """A time of day without seconds, as Kerio's `Time`."""

    hour: int
    min: int


@dataclass(frozen=True, slots=True, order=True)
class Date:
    """A date as Kerio's `Date`: `month` is zero-based (0 is January)."""

    year: int
    month: int
    day: int


@dataclass(frozen=True, slots=True)
class IpEntry:
    """One entry of an IP address group (Kerio's `IpAddressEntry`)."""

    type: str
    host: str = ""
    addr1: str = ""
    addr2: str = ""
    child_group: str = ""
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class UrlEntry:
    """One entry of a URL group (Kerio's `UrlEntry`)."""

    type: str
    url: str = ""
    is_regex: bool = False
    child_group: str = ""
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class TimeEntry:
    """One span of a time range (Kerio's `TimeRangeEntry`)."""

    type: str
    from_time: Time = Time(0, 0)
    to_time: Time = Time(23, 59)
    days: tuple[str, ...] = ()
    from_day: str = ""
    to_day: str = ""
    from_date: Date | None = None
    to_date: Date | None = None
    description: str = ""
    enabled: bool = True


Entry: TypeAlias = IpEntry | UrlEntry | TimeEntry


@dataclass(frozen=True, slots=True)
class Group:
    """A named group of entries; `id` stays when it is renamed."""

    id: str
    name: str
    entries: tuple[Entry, ...] = ()

    @property
    def children(self) -> tuple[str, ...]:
        """Names of the groups it nests."""
        return tuple(
            e.child_group
            for e in self.entries
            if isinstance(e, IpEntry | UrlEntry) and e.type in CHILD_TYPES
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One kind's definitions of an organization at one version (0: none yet)."""

    kind: Kind
    version: int = 0
    groups: tuple[Group, ...] = field(default=())

    def group(self, group_id: str) -> Group | None:
        """The group of that id, or None."""
        return next((g for g in self.groups if g.id == group_id), None)

    def named(self, name: str) -> Group | None:
        """The group of that name (names are unique within a kind, ignoring case), or None."""
        folded = name.casefold()
        return next((g for g in self.groups if g.name.casefold() == folded), None)


def new_group_id() -> str:
    """A fresh group id (its entries' `sharedId` on an appliance)."""
    return secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule: where (group name, entry number from 1, or 0 for the group) and why."""

    group: str
    entry: int
    message: str

    def __str__(self) -> str:
        where = f'group "{self.group}"' if self.group else "definitions"
        if self.entry:
            where += f", entry {self.entry}"
        return f"{where}: {self.message}"


class DefinitionError(InvalidInput):
    """Definitions that break a rule; `problems` says each (at most 20 are kept), the message
    the first three."""

    code = "invalid_definitions"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems[:20])
        super().__init__("; ".join(str(p) for p in self.problems[:3]))


Wire: TypeAlias = dict[str, Any]
# Fields Kerio's entries carry that the hub reads past (its own ids and state on a box).
_IGNORED = frozenset({"id", "groupId", "groupName", "sharedId", "status", "childGroupId"})


def entry_to_wire(entry: Entry) -> Wire:
    """An entry in Kerio's field names, with only the fields its type uses."""
    out: Wire = {"type": entry.type}
    if isinstance(entry, IpEntry):
        if entry.type in ("Host", "IpPrefix"):
            out["host"] = entry.host
        elif entry.type in ("Network", "Range"):
            out["addr1"], out["addr2"] = entry.addr1, entry.addr2
        elif entry.type == "ChildGroup":
            out["childGroupName"] = entry.child_group
    elif isinstance(entry, UrlEntry):
        if entry.type == "Url":
            out["url"], out["isRegex"] = entry.url, entry.is_regex
        else:
            out["childGroupName"] = entry.child_group
    else:
        out["fromTime"] = _time_wire(entry.from_time)
        out["toTime"] = _time_wire(entry.to_time)
        if entry.type == "TimeRangeDaily":
            out["days"] = list(entry.days)
        elif entry.type == "TimeRangeWeekly":
            out["fromDay"], out["toDay"] = entry.from_day, entry.to_day
        elif entry.from_date is not None and entry.to_date is not None:
            out["fromDate"] = _date_wire(entry.from_date)
            out["toDate"] = _date_wire(entry.to_date)
    out["description"] = entry.description
    out["enabled"] = entry.enabled
    return out


def group_to_wire(group: Group) -> Wire:
    """A group: `{id, name, entries}`."""
    return {
        "id": group.id,
        "name": group.name,
        "entries": [entry_to_wire(e) for e in group.entries],
    }


def groups_to_wire(groups: Sequence[Group]) -> list[Wire]:
    """Groups in the wire form."""
    return [group_to_wire(g) for g in groups]


def snapshot_json(snapshot: Snapshot) -> str:
    """A snapshot's groups as compact JSON text (the store's and the size limit's form)."""
    return json.dumps(groups_to_wire(snapshot.groups), separators=(",", ":"), ensure_ascii=False)


def parse_entry(kind: Kind, value: object, *, group: str = "", number: int = 0) -> Entry:
    """An entry of `kind` from its wire form; `DefinitionError` for a wrong shape (the rules
    of its values are `validation`'s)."""

    def fail(message: str) -> DefinitionError:
        return DefinitionError([Problem(group, number, message)])

    if not isinstance(value, Mapping):
        raise fail("an entry must be an object")
    types = {Kind.IP: IP_TYPES, Kind.URL: URL_TYPES, Kind.TIME: TIME_TYPES}[kind]
    kind_of = value.get("type")
    if kind_of not in types:
        raise fail("type must be one of " + ", ".join(types))
    fields = _FIELDS[kind]
    for name in value:
        if name not in fields and name not in _IGNORED:
            raise fail(f"{kind_of} has no field {str(name)[:40]!r}")
    try:
        description = _text(value, "description")
        enabled = _flag(value, "enabled", True)
        if kind is Kind.IP:
            return IpEntry(
                type=str(kind_of),
                host=_text(value, "host"),
                addr1=_text(value, "addr1"),
                addr2=_text(value, "addr2"),
                child_group=_text(value, "childGroupName"),
                description=description,
                enabled=enabled,
            )
        if kind is Kind.URL:
            return UrlEntry(
                type=str(kind_of),
                url=_text(value, "url"),
                is_regex=_flag(value, "isRegex", False),
                child_group=_text(value, "childGroupName"),
                description=description,
                enabled=enabled,
            )
        days = value.get("days", [])
        if not _is_list(days) or any(d not in DAYS for d in days):
            raise ValueError("days must be a list of Monday ... Sunday")
        return TimeEntry(
            type=str(kind_of),
            from_time=_time(value.get("fromTime", {"hour": 0, "min": 0}), "fromTime"),
            to_time=_time(value.get("toTime", {"hour": 23, "min": 59}), "toTime"),
            days=tuple(days),
            from_day=_day(value, "fromDay"),
            to_day=_day(value, "toDay"),
            from_date=_date(value.get("fromDate"), "fromDate"),
            to_date=_date(value.get("toDate"), "toDate"),
            description=description,
            enabled=enabled,
        )
    except ValueError as error:
        raise fail(str(error)) from None


def parse_group(kind: Kind, value: object, *, keep_id: bool = True) -> Group:
    """A group `{id?, name, entries}` from its wire form (a fresh id unless it has one)."""
    if not isinstance(value, Mapping):
        raise DefinitionError([Problem("", 0, "a group must be an object")])
    name = value.get("name")
    if not isinstance(name, str):
        raise DefinitionError([Problem("", 0, "a group needs a name")])
    for key in value:
        if key not in ("id", "name", "entries"):
            raise DefinitionError([Problem(name, 0, f"a group has no field {str(key)[:40]!r}")])
    entries = value.get("entries", [])
    if not _is_list(entries):
        raise DefinitionError([Problem(name, 0, "entries must be a list")])
    group_id = value.get("id")
    if not keep_id or not isinstance(group_id, str) or not _GROUP_ID_CHARS(group_id):
        group_id = new_group_id()
    return Group(
        id=group_id,
        name=name,
        entries=tuple(
            parse_entry(kind, e, group=name, number=n) for n, e in enumerate(entries, start=1)
        ),
    )


def parse_groups(kind: Kind, value: object, *, keep_ids: bool = True) -> tuple[Group, ...]:
    """A list of groups from the wire form."""
    if not _is_list(value):
        raise DefinitionError([Problem("", 0, "groups must be a list")])
    return tuple(parse_group(kind, g, keep_id=keep_ids) for g in value)


def _is_list(value: object) -> TypeGuard[Sequence[Any]]:
    # JSON arrays: lists, or the tuples of a decoded (frozen) protocol message.
    return isinstance(value, list | tuple)


def _GROUP_ID_CHARS(value: str) -> bool:  # noqa: N802 - reads as the rule it is
    return 1 <= len(value) <= 32 and all(c in "0123456789abcdef" for c in value)


_COMMON = frozenset({"type", "description", "enabled"})
_FIELDS = {
    Kind.IP: _COMMON | {"host", "addr1", "addr2", "childGroupName"},
    Kind.URL: _COMMON | {"url", "isRegex", "childGroupName"},
    Kind.TIME: _COMMON | {"fromTime", "toTime", "days", "fromDay", "toDay", "fromDate", "toDate"},
}


def _text(value: Mapping[str, object], name: str) -> str:
    item = value.get(name, "")
    if not isinstance(item, str):
        raise ValueError(f"{name} must be a string")
    return item


def _flag(value: Mapping[str, object], name: str, default: bool) -> bool:
    item = value.get(name, default)
    if not isinstance(item, bool):
        raise ValueError(f"{name} must be true or false")
    return item


def _day(value: Mapping[str, object], name: str) -> str:
    item = value.get(name, "")
    if item != "" and item not in DAYS:
        raise ValueError(f"{name} must be one of Monday ... Sunday")
    return str(item)


def _whole(value: Mapping[str, object], name: str, where: str) -> int:
    item = value.get(name)
    if type(item) is not int:
        raise ValueError(f"{where}.{name} must be a whole number")
    return item


def _time(value: object, where: str) -> Time:
    if not isinstance(value, Mapping) or set(value) != {"hour", "min"}:
        raise ValueError(f"{where} must be {{hour, min}}")
    return Time(_whole(value, "hour", where), _whole(value, "min", where))


def _date(value: object, where: str) -> Date | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"year", "month", "day"}:
        raise ValueError(f"{where} must be {{year, month, day}}")
    return Date(
        _whole(value, "year", where), _whole(value, "month", where), _whole(value, "day", where)
    )


def _time_wire(value: Time) -> Wire:
    return {"hour": value.hour, "min": value.min}


def _date_wire(value: Date) -> Wire:
    return {"year": value.year, "month": value.month, "day": value.day}
