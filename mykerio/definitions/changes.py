"""Edits of one kind's groups, as pure functions from groups to groups, and what changed.

Each edit returns the new groups and a one-line summary for the version history and the
activity log; `validation.validate` then checks the result as a whole (so a rename that would
clash, or an entry that closes a nesting cycle, is refused like any other broken rule).
Renaming a group renames the entries that nest it, so nesting follows the group.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from mykerio.definitions.model import (
    CHILD_TYPES,
    Entry,
    Group,
    IpEntry,
    UrlEntry,
    new_group_id,
)
from mykerio.errors import NotFound

Groups = tuple[Group, ...]


def create_group(groups: Groups, name: str, entries: Sequence[Entry] = ()) -> tuple[Groups, Group]:
    """A new group at the end."""
    group = Group(id=new_group_id(), name=name, entries=tuple(entries))
    return (*groups, group), group


def rename_group(groups: Groups, group_id: str, name: str) -> tuple[Groups, Group, str]:
    """The group of that id under a new name (nesting entries follow); its old name."""
    old = _find(groups, group_id)
    renamed = tuple(
        _renamed_children(
            dataclasses.replace(g, name=name) if g.id == group_id else g, old.name, name
        )
        for g in groups
    )
    return renamed, _find(renamed, group_id), old.name


def delete_group(groups: Groups, group_id: str) -> tuple[Groups, Group]:
    """Without the group of that id (entries nesting it are left, so validation names them)."""
    old = _find(groups, group_id)
    return tuple(g for g in groups if g.id != group_id), old


def add_entry(groups: Groups, group_id: str, entry: Entry) -> tuple[Groups, Group]:
    """The group with one more entry at the end."""
    group = _find(groups, group_id)
    changed = dataclasses.replace(group, entries=(*group.entries, entry))
    return _put(groups, changed), changed


def edit_entry(groups: Groups, group_id: str, index: int, entry: Entry) -> tuple[Groups, Group]:
    """The group with entry `index` (from 0) replaced."""
    group = _find(groups, group_id)
    if not 0 <= index < len(group.entries):
        raise NotFound(f"entry {index} of group {group_id}")
    entries = (*group.entries[:index], entry, *group.entries[index + 1 :])
    changed = dataclasses.replace(group, entries=entries)
    return _put(groups, changed), changed


def remove_entry(groups: Groups, group_id: str, index: int) -> tuple[Groups, Group]:
    """The group without entry `index` (from 0)."""
    group = _find(groups, group_id)
    if not 0 <= index < len(group.entries):
        raise NotFound(f"entry {index} of group {group_id}")
    changed = dataclasses.replace(group, entries=group.entries[:index] + group.entries[index + 1 :])
    return _put(groups, changed), changed


def describe(before: Sequence[Group], after: Sequence[Group]) -> str:
    """What changed from one version's groups to the next, in a line (for the history)."""
    old = {g.id: g for g in before}
    new = {g.id: g for g in after}
    parts: list[str] = []
    for group in after:
        previous = old.get(group.id)
        if previous is None:
            parts.append(f'added "{group.name}" ({_count(len(group.entries))})')
            continue
        if previous.name != group.name:
            parts.append(f'renamed "{previous.name}" to "{group.name}"')
        if previous.entries != group.entries:
            added = sum(1 for e in group.entries if e not in previous.entries)
            removed = sum(1 for e in previous.entries if e not in group.entries)
            detail = ", ".join(
                text
                for n, text in ((added, f"{added} added"), (removed, f"{removed} removed"))
                if n
            )
            parts.append(f'changed "{group.name}" ({detail or "entries reordered"})')
    parts.extend(f'removed "{g.name}"' for g in before if g.id not in new)
    return "; ".join(parts) or "no change"


def _count(n: int) -> str:
    return "1 entry" if n == 1 else f"{n} entries"


def _find(groups: Groups, group_id: str) -> Group:
    for group in groups:
        if group.id == group_id:
            return group
    raise NotFound(f"group {group_id}")


def _put(groups: Groups, changed: Group) -> Groups:
    return tuple(changed if g.id == changed.id else g for g in groups)


def _renamed_children(group: Group, old: str, new: str) -> Group:
    if old.casefold() not in (c.casefold() for c in group.children):
        return group
    entries = tuple(
        dataclasses.replace(e, child_group=new)
        if isinstance(e, IpEntry | UrlEntry)
        and e.type in CHILD_TYPES
        and e.child_group.casefold() == old.casefold()
        else e
        for e in group.entries
    )
    return dataclasses.replace(group, entries=entries)
