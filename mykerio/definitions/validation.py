"""The rules a kind's groups must keep, each broken one named with its group, entry and rule.

Addresses: IPv4 or IPv6, hostnames by RFC 1123, networks with a contiguous mask, ranges from ≤
to in one family, IPv6 prefixes without host bits. URLs: no protocol, no spaces; a regular
expression must compile and stay within `limits` (length, quantifiers, no nested quantifiers,
back-references or look-arounds: Python's engine backtracks, so the hub refuses the
constructs that can make it take exponential time). Time ranges: valid times and dates
(month 0-11), days non-empty, from ≤ to for absolute ranges. Groups: unique names, children
that exist, no nesting cycles, nesting at most `limits.NESTING_DEPTH` deep.
"""

from __future__ import annotations

import calendar
import ipaddress
import re
from collections.abc import Mapping, Sequence

from mykerio.definitions import limits
from mykerio.definitions.model import (
    CHILD_TYPES,
    DefinitionError,
    Entry,
    Group,
    IpEntry,
    Kind,
    Problem,
    Snapshot,
    TimeEntry,
    UrlEntry,
    snapshot_json,
)
from mykerio.protocol.text import text_problem

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def validate(kind: Kind, groups: Sequence[Group]) -> None:
    """Raise `DefinitionError` with every broken rule of these groups (None if all hold)."""
    problems: list[Problem] = []
    if len(groups) > limits.GROUPS_PER_KIND:
        problems.append(Problem("", 0, f"at most {limits.GROUPS_PER_KIND} groups per kind"))
    if sum(len(g.entries) for g in groups) > limits.ENTRIES_PER_KIND:
        problems.append(Problem("", 0, f"at most {limits.ENTRIES_PER_KIND} entries per kind"))
    seen: set[str] = set()
    names = {g.name.casefold() for g in groups}
    for group in groups:
        problems.extend(_group_problems(group, seen))
        for number, entry in enumerate(group.entries, start=1):
            problem = entry_problem(entry)
            if (
                problem is None
                and isinstance(entry, IpEntry | UrlEntry)
                and entry.type in CHILD_TYPES
                and entry.child_group.casefold() not in names
            ):
                problem = f'nests "{entry.child_group[:64]}", which is not a group'
            if problem is not None:
                problems.append(Problem(group.name, number, f"{entry.type}: {problem}"))
    if not problems:
        cycle = find_cycle(groups)
        if cycle:
            problems.append(Problem(cycle[0], 0, "nesting cycle: " + " → ".join(cycle)))
        else:
            deep = too_deep(groups, limits.NESTING_DEPTH)
            if deep is not None:
                problems.append(
                    Problem(deep, 0, f"nesting goes deeper than {limits.NESTING_DEPTH} levels")
                )
    if not problems:
        size = len(snapshot_json(Snapshot(kind, 0, tuple(groups))).encode())
        if size > limits.SNAPSHOT_BYTES:
            problems.append(
                Problem(
                    "",
                    0,
                    f"the {kind.title}s take {size} bytes; at most "
                    f"{limits.SNAPSHOT_BYTES} fit in one push",
                )
            )
    if problems:
        raise DefinitionError(problems)


def _group_problems(group: Group, seen: set[str]) -> list[Problem]:
    problems = []
    name_problem = text_problem(group.name, limits.GROUP_NAME_CHARS)
    if name_problem is not None or group.name != group.name.strip():
        why = name_problem or "must not start or end with spaces"
        problems.append(Problem(group.name[:64], 0, f"the name {why}"))
    folded = group.name.casefold()
    if folded in seen:
        problems.append(Problem(group.name, 0, "another group has this name"))
    seen.add(folded)
    if len(group.entries) > limits.ENTRIES_PER_GROUP:
        problems.append(Problem(group.name, 0, f"at most {limits.ENTRIES_PER_GROUP} entries"))
    return problems


def entry_problem(entry: Entry) -> str | None:
    """What is wrong with one entry on its own (children are checked against the groups)."""
    if entry.description and (problem := text_problem(entry.description, limits.DESCRIPTION_CHARS)):
        return f"the description {problem}"
    if isinstance(entry, IpEntry):
        return ip_problem(entry)
    if isinstance(entry, UrlEntry):
        return url_problem(entry)
    return time_problem(entry)


def ip_problem(entry: IpEntry) -> str | None:
    """The rule an IP address entry breaks, or None."""
    if entry.type == "Host":
        return host_problem(entry.host)
    if entry.type == "Network":
        network = _address(entry.addr1)
        if not isinstance(network, ipaddress.IPv4Address):
            return "the network must be an IPv4 address"
        return mask_problem(entry.addr2)
    if entry.type == "Range":
        low, high = _address(entry.addr1), _address(entry.addr2)
        if low is None or high is None:
            return "from and to must be IP addresses"
        if low.version != high.version:
            return "from and to must both be IPv4 or both IPv6"
        return "from must not be after to" if int(low) > int(high) else None
    if entry.type == "IpPrefix":
        return prefix_problem(entry.host)
    if entry.type == "ChildGroup":
        return None if entry.child_group else "names no group"
    return None  # ThisMachine: the firewall's own addresses


def host_problem(host: str) -> str | None:
    """The rule a `Host` breaks: an IPv4 or IPv6 address, or a hostname."""
    if _address(host) is not None:
        return None
    if not host or len(host) > limits.HOSTNAME_CHARS:
        return f"must be an IP address or a hostname of 1 to {limits.HOSTNAME_CHARS} characters"
    labels = host.removesuffix(".").split(".")
    if not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return "must be an IP address or a hostname (letters, digits, hyphens, dots)"
    return None


def mask_problem(mask: str) -> str | None:
    """The rule a network mask breaks: a dotted IPv4 mask of contiguous ones."""
    value = _address(mask)
    if not isinstance(value, ipaddress.IPv4Address):
        return "the mask must be a dotted IPv4 mask like 255.255.255.0"
    bits = int(value)
    inverted = ~bits & 0xFFFFFFFF
    # A contiguous mask is ones then zeros: its inverse plus one is a power of two.
    return None if inverted & (inverted + 1) == 0 else "the mask must be contiguous ones"


def prefix_problem(prefix: str) -> str | None:
    """The rule an `IpPrefix` breaks: an IPv6 prefix like 2001:db8::/32, no host bits."""
    if "/" not in prefix:
        return "must be an IPv6 prefix like 2001:db8::/32"
    try:
        network = ipaddress.ip_network(prefix, strict=True)
    except ValueError as error:
        if "host bits" in str(error):
            return "has host bits set after the prefix length"
        return "must be an IPv6 prefix like 2001:db8::/32"
    return None if network.version == 6 else "must be an IPv6 prefix (use Network for IPv4)"


def url_problem(entry: UrlEntry) -> str | None:
    """The rule a URL entry breaks, or None."""
    if entry.type == "UrlChildGroup":
        return None if entry.child_group else "names no group"
    if entry.is_regex:
        return regex_problem(entry.url)
    problem = text_problem(entry.url, limits.URL_CHARS)
    if problem is not None:
        return f"the URL {problem}"
    if "://" in entry.url:
        return "the URL must not name a protocol (no http://)"
    if any(c.isspace() for c in entry.url):
        return "the URL must not contain spaces"
    return None


_QUANTIFIER = re.compile(r"[*+?]|\{\d+(,\d*)?\}")


def regex_problem(pattern: str) -> str | None:
    """The rule a regular expression breaks: it must compile and avoid the constructs that
    make a backtracking engine slow (nested quantifiers, back-references, look-arounds)."""
    problem = text_problem(pattern, limits.REGEX_CHARS)
    if problem is not None:
        return f"the regular expression {problem}"
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return "the regular expression does not compile"
    if re.search(r"\\[1-9]|\(\?P=|\(\?<?[=!]|\\g<", pattern):
        return "back-references and look-arounds are not allowed in regular expressions"
    return _nesting_problem(pattern)


def _nesting_problem(pattern: str) -> str | None:
    # Each open group remembers whether it holds a quantifier; a quantified group that does
    # is a nested quantifier, the shape of catastrophic backtracking ((a+)+, (a|aa)*…).
    stack: list[bool] = []
    quantified_inside = False
    quantifiers = 0
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            end = _class_end(pattern, index)
            index = end + 1
            continue
        if char == "(":
            stack.append(quantified_inside)
            quantified_inside = False
            index += 1
            continue
        if char == ")" and stack:
            inner = quantified_inside
            quantified_inside = stack.pop()
            match = _QUANTIFIER.match(pattern, index + 1)
            if match is not None and inner:
                return "nested quantifiers such as (a+)+ are not allowed in regular expressions"
            if inner:
                quantified_inside = True
            index += 1
            continue
        match = _QUANTIFIER.match(pattern, index)
        if match is not None and index > 0:
            quantifiers += 1
            quantified_inside = True
            index = match.end()
            continue
        index += 1
    if quantifiers > limits.REGEX_QUANTIFIERS:
        return f"at most {limits.REGEX_QUANTIFIERS} quantifiers in a regular expression"
    return None


def _class_end(pattern: str, start: int) -> int:
    index = start + 1
    if index < len(pattern) and pattern[index] == "^":
        index += 1
    if index < len(pattern) and pattern[index] == "]":
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index


def time_problem(entry: TimeEntry) -> str | None:
    """The rule a time range entry breaks, or None."""
    for label, value in (("from", entry.from_time), ("to", entry.to_time)):
        if not (0 <= value.hour <= 23 and 0 <= value.min <= 59):
            return f"the {label} time must be 0-23 hours and 0-59 minutes"
    if entry.type == "TimeRangeDaily":
        if not entry.days:
            return "choose at least one day"
        return "a day is listed twice" if len(set(entry.days)) != len(entry.days) else None
    if entry.type == "TimeRangeWeekly":
        return None if entry.from_day and entry.to_day else "needs a from day and a to day"
    if entry.from_date is None or entry.to_date is None:
        return "needs a from date and a to date"
    for label, date in (("from", entry.from_date), ("to", entry.to_date)):
        if not 1970 <= date.year <= 2099 or not 0 <= date.month <= 11:
            return f"the {label} date needs a year 1970-2099 and a month 0-11"
        if not 1 <= date.day <= calendar.monthrange(date.year, date.month + 1)[1]:
            return f"the {label} date has no such day in its month"
    start = (entry.from_date, entry.from_time)
    end = (entry.to_date, entry.to_time)
    return "the from date and time must not be after the to date and time" if start > end else None


def find_cycle(groups: Sequence[Group]) -> list[str]:
    """The names along one nesting cycle (first name repeated at the end), or []."""
    children = _graph(groups)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    names = {g.name.casefold(): g.name for g in groups}
    for root in children:
        if state.get(root):
            continue
        path: list[str] = [root]
        iterators = [iter(children[root])]
        state[root] = 1
        while iterators:
            child = next(iterators[-1], None)
            if child is None:
                state[path.pop()] = 2
                iterators.pop()
                continue
            if state.get(child) == 1:
                cycle = [*path[path.index(child) :], child]
                return [names.get(n, n) for n in cycle]
            if child in children and not state.get(child):
                state[child] = 1
                path.append(child)
                iterators.append(iter(children[child]))
    return []


def too_deep(groups: Sequence[Group], limit: int) -> str | None:
    """A group whose nesting goes more than `limit` levels down (the groups have no cycle)."""
    children = _graph(groups)
    depth: dict[str, int] = {}

    def depth_of(name: str) -> int:
        # Iterative post-order so a long chain cannot hit Python's recursion limit.
        stack = [name]
        while stack:
            top = stack[-1]
            pending = [c for c in children.get(top, ()) if c not in depth and c in children]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            depth[top] = 1 + max((depth.get(c, 0) for c in children.get(top, ())), default=0)
        return depth[name]

    for group in groups:
        if depth_of(group.name.casefold()) > limit + 1:
            return group.name
    return None


def _graph(groups: Sequence[Group]) -> Mapping[str, tuple[str, ...]]:
    return {g.name.casefold(): tuple(c.casefold() for c in g.children) for g in groups}


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None
