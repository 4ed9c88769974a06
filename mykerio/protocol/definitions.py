"""The messages of the `definitions` feature (protocol v2; docs/protocol.md, section 9.7).

`definitions_versions` (appliance → hub, right after `welcome`): the version of each kind the
appliance holds. `definitions` (hub → appliance): one kind's full snapshot. The appliance
replaces all its shared entries of that kind in one step and answers `definitions_applied`
(`re` = the push) with the version it now holds, or with its errors per entry. `import_request`
/ `import_result` read an appliance's local groups of a kind for an import.

Bodies are checked here for shape only; the groups themselves by `mykerio.definitions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mykerio.definitions.model import Kind
from mykerio.protocol.text import text_problem

FEATURE = "definitions"
KINDS = tuple(kind.value for kind in Kind)
MAX_VERSION = 2**31 - 1
MAX_ERRORS = 20
ERROR_MESSAGE_CHARS = 300
MESSAGES = frozenset({"definitions_versions", "definitions_applied", "import_result"})


def kind_problem(value: object) -> str | None:
    """What is wrong with a kind name, or None."""
    return None if value in KINDS else "must be one of " + ", ".join(KINDS)


def version_problem(value: object) -> str | None:
    """What is wrong with a definitions version (0: none yet), or None."""
    if type(value) is int and 0 <= value <= MAX_VERSION:
        return None
    return f"must be a whole number from 0 to {MAX_VERSION}"


def versions_problem(value: object) -> str | None:
    """What is wrong with `{kind: version}` for some of the kinds, or None."""
    if not isinstance(value, Mapping):
        return "must be an object of kind to version"
    for kind, version in value.items():
        if kind not in KINDS:
            return "names kinds from " + ", ".join(KINDS)
        if version_problem(version) is not None:
            return f"holds versions from 0 to {MAX_VERSION}"
    return None


def groups_problem(value: object) -> str | None:
    """What is wrong with a list of groups at the message level (their entries are checked by
    `mykerio.definitions`), or None."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        return "must be a list of groups"
    return None if all(isinstance(g, Mapping) for g in value) else "must hold objects"


def errors_problem(value: object) -> str | None:
    """What is wrong with `[{group, entry, message}]`, or None."""
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) > MAX_ERRORS:
        return f"must be a list of at most {MAX_ERRORS} errors"
    for item in value:
        if not isinstance(item, Mapping) or set(item) != {"group", "entry", "message"}:
            return "must hold objects of group, entry and message"
        entry, group, message = item["entry"], item["group"], item["message"]
        if type(entry) is not int or not 0 <= entry <= 100_000:
            return "entry must be a whole number from 0"
        if not isinstance(group, str) or len(group) > 100:
            return "group must be a string of at most 100 characters"
        if not isinstance(message, str) or text_problem(message, ERROR_MESSAGE_CHARS):
            return f"message must be text of 1 to {ERROR_MESSAGE_CHARS} characters"
    return None
