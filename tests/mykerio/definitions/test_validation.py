"""Tests of mykerio.definitions: the wire form, the rules and the cycle check."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mykerio.definitions import limits
from mykerio.definitions.changes import create_group, describe, rename_group
from mykerio.definitions.model import (
    DAYS,
    Date,
    DefinitionError,
    Group,
    IpEntry,
    Kind,
    Time,
    TimeEntry,
    UrlEntry,
    entry_to_wire,
    parse_entry,
    parse_groups,
)
from mykerio.definitions.validation import (
    find_cycle,
    host_problem,
    ip_problem,
    mask_problem,
    prefix_problem,
    regex_problem,
    time_problem,
    url_problem,
    validate,
)

ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
times = st.builds(Time, st.integers(0, 23), st.integers(0, 59))
dates = st.builds(Date, st.integers(1970, 2099), st.integers(0, 11), st.integers(1, 28))
texts = st.text(st.characters(min_codepoint=32, max_codepoint=0x7E), max_size=20)
ip_entries = st.one_of(
    st.builds(IpEntry, st.just("Host"), host=st.one_of(ipv4, ipv6), description=texts),
    st.builds(IpEntry, st.just("Range"), addr1=ipv4, addr2=ipv4),
    st.builds(IpEntry, st.just("Network"), addr1=ipv4, addr2=st.just("255.255.0.0")),
    st.builds(IpEntry, st.just("ThisMachine"), enabled=st.booleans()),
)
time_entries = st.one_of(
    st.builds(
        TimeEntry,
        st.just("TimeRangeDaily"),
        from_time=times,
        to_time=times,
        days=st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True).map(tuple),
    ),
    st.builds(
        TimeEntry,
        st.just("TimeRangeWeekly"),
        from_time=times,
        to_time=times,
        from_day=st.sampled_from(DAYS),
        to_day=st.sampled_from(DAYS),
    ),
    st.builds(
        TimeEntry,
        st.just("TimeRangeAbsolute"),
        from_time=times,
        to_time=times,
        from_date=dates,
        to_date=dates,
    ),
)


@given(ip_entries)
def test_ip_entries_survive_the_wire(entry: IpEntry) -> None:
    """An IP address entry reads back from its wire form as it was."""
    assert parse_entry(Kind.IP, entry_to_wire(entry)) == entry


@given(time_entries)
def test_time_entries_survive_the_wire(entry: TimeEntry) -> None:
    """A time range entry reads back from its wire form with Kerio's {hour, min} and months."""
    assert parse_entry(Kind.TIME, entry_to_wire(entry)) == entry


@given(st.one_of(ipv4, ipv6))
def test_every_address_is_a_host(address: str) -> None:
    """Any IPv4 or IPv6 address is a valid Host."""
    assert host_problem(address) is None


@given(ipv4, ipv4)
def test_a_range_is_valid_exactly_when_from_is_not_after_to(low: str, high: str) -> None:
    """A Range is refused exactly when its from address is after its to address."""
    problem = ip_problem(IpEntry("Range", addr1=low, addr2=high))
    ordered = int(ipaddress.ip_address(low)) <= int(ipaddress.ip_address(high))
    assert (problem is None) == ordered
    if not ordered:
        assert problem == "from must not be after to"


@given(st.integers(0, 2**32 - 1))
def test_a_mask_is_valid_exactly_when_its_ones_are_contiguous(bits: int) -> None:
    """A mask is accepted exactly when it is some prefix length's mask."""
    mask = str(ipaddress.IPv4Address(bits))
    contiguous = bits in {(0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF for n in range(33)}
    assert (mask_problem(mask) is None) == contiguous


@given(st.integers(0, 128), ipv6)
def test_ipv6_prefixes_need_no_host_bits(length: int, address: str) -> None:
    """An IPv6 prefix is accepted when it has no host bits and refused when it has."""
    network = ipaddress.ip_network(f"{address}/{length}", strict=False)
    assert prefix_problem(str(network)) is None
    if network.network_address != ipaddress.ip_address(address):
        assert prefix_problem(f"{address}/{length}") == "has host bits set after the prefix length"


def test_host_names_and_bad_hosts() -> None:
    """Hostnames pass; spaces, empty labels, a numeric top label and overlong names do not."""
    assert host_problem("gw.example.com") is None
    for bad in ("", "a b.com", "a..com", "-a.com", "1.2.3", "x" * 254):
        assert host_problem(bad) is not None


def test_urls_have_no_protocol_and_regexes_are_bounded() -> None:
    """A URL with a protocol is refused; risky regular expressions are refused by construct."""
    assert url_problem(UrlEntry("Url", url="*.example.com/*")) is None
    assert "protocol" in str(url_problem(UrlEntry("Url", url="http://example.com")))
    assert regex_problem(r"^ads?\.[a-z]+\.com$") is None
    assert regex_problem("[(a+)+]x") is None  # inside a class, not a group
    assert "nested" in str(regex_problem("(a+)+$"))
    assert "nested" in str(regex_problem("((ab)*c)*"))
    assert "back-references" in str(regex_problem(r"(a)\1"))
    assert "look-arounds" in str(regex_problem("(?=a)b"))
    assert regex_problem("(unclosed") == "the regular expression does not compile"
    assert regex_problem("a" * (limits.REGEX_CHARS + 1)) is not None
    assert "quantifiers" in str(regex_problem("a*" * (limits.REGEX_QUANTIFIERS + 1)))


def test_time_rules() -> None:
    """Days are required, times are bounded, absolute ranges run forward on real dates."""
    assert time_problem(TimeEntry("TimeRangeDaily")) == "choose at least one day"
    assert "0-23" in str(
        time_problem(TimeEntry("TimeRangeDaily", days=("Monday",), to_time=Time(24, 0)))
    )
    absolute = TimeEntry(
        "TimeRangeAbsolute", from_date=Date(2026, 11, 31), to_date=Date(2026, 0, 1)
    )
    assert "after" in str(time_problem(absolute))
    february = TimeEntry("TimeRangeAbsolute", from_date=Date(2026, 1, 30), to_date=Date(2027, 0, 1))
    assert "no such day" in str(time_problem(february))


def test_a_problem_names_the_group_the_entry_and_the_rule() -> None:
    """The message says which group, which entry (from 1) and which rule."""
    groups = (
        Group(
            "a1",
            "Office",
            (
                IpEntry("Host", host="10.0.0.1"),
                IpEntry("Range", addr1="10.0.0.9", addr2="10.0.0.1"),
            ),
        ),
    )
    with pytest.raises(DefinitionError) as caught:
        validate(Kind.IP, groups)
    assert str(caught.value) == 'group "Office", entry 2: Range: from must not be after to'


def test_parse_refuses_unknown_fields_and_types() -> None:
    """An unknown type or field is named, Kerio's own ids are read past."""
    with pytest.raises(DefinitionError, match="type must be one of"):
        parse_entry(Kind.URL, {"type": "Host"})
    with pytest.raises(DefinitionError, match="no field 'colour'"):
        parse_entry(Kind.IP, {"type": "Host", "host": "a", "colour": 1})
    entry = parse_entry(Kind.IP, {"type": "Host", "host": "a", "id": "7", "sharedId": "x"})
    assert entry == IpEntry("Host", host="a")
    with pytest.raises(DefinitionError, match="month"):
        parse_groups(
            Kind.TIME,
            [{"name": "x", "entries": [{"type": "TimeRangeAbsolute", "fromDate": {"year": 1}}]}],
        )


def _chain(names: list[str], back: int | None) -> tuple[Group, ...]:
    groups = []
    for i, name in enumerate(names):
        child = names[i + 1] if i + 1 < len(names) else (names[back] if back is not None else None)
        entries = (IpEntry("ChildGroup", child_group=child),) if child else ()
        groups.append(Group(f"{i:x}", name, entries))
    return tuple(groups)


@given(st.integers(1, 12), st.data())
def test_the_cycle_check_finds_exactly_the_cycles(length: int, data: st.DataObject) -> None:
    """A chain of nested groups has a cycle exactly when its last group nests an earlier one."""
    names = [f"g{i}" for i in range(length)]
    back = data.draw(st.one_of(st.none(), st.integers(0, length - 1)))
    groups = _chain(names, back)
    cycle = find_cycle(groups)
    if back is None:
        assert cycle == []
    else:
        assert cycle[0] == cycle[-1]
        assert set(cycle) == set(names[back:])


def test_nesting_depth_is_limited() -> None:
    """Nesting deeper than the hub's limit is refused, up to it is fine."""
    validate(Kind.IP, _chain([f"g{i}" for i in range(limits.NESTING_DEPTH + 1)], None))
    with pytest.raises(DefinitionError, match="deeper than"):
        validate(Kind.IP, _chain([f"g{i}" for i in range(limits.NESTING_DEPTH + 2)], None))
    with pytest.raises(DefinitionError, match="nesting cycle: g0 → g1 → g0"):
        validate(Kind.IP, _chain(["g0", "g1"], 0))


def test_names_are_unique_and_renames_carry_nesting() -> None:
    """Two groups of one name are refused; renaming a group renames the entries nesting it."""
    groups, inner = create_group((), "Inner", (IpEntry("Host", host="10.0.0.1"),))
    groups, _outer = create_group(groups, "Outer", (IpEntry("ChildGroup", child_group="Inner"),))
    renamed, group, old = rename_group(groups, inner.id, "Servers")
    assert old == "Inner"
    assert group.name == "Servers"
    assert renamed[1].entries[0] == IpEntry("ChildGroup", child_group="Servers")
    validate(Kind.IP, renamed)
    assert (
        describe(groups, renamed)
        == 'renamed "Inner" to "Servers"; changed "Outer" (1 added, 1 removed)'
    )
    with pytest.raises(DefinitionError, match="another group has this name"):
        validate(Kind.IP, create_group(groups, "inner")[0])
