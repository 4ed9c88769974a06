"""A simulated Kerio Control's definitions: local and shared, and the hub's pushes.

It keeps, per kind, Kerio's flat list of entries (each with `id`, `groupId`, `groupName` and,
for shared ones, the read-only `sharedId`) and the version of the shared ones. A `definitions`
push replaces every shared entry of its kind in one step: a local group with the same name as a
shared one is adopted (its local entries give way to the shared ones), other local groups stay,
and the snapshot is checked by the hub's own rules first, so a bad one changes nothing and is
answered with its errors per entry. `refuse_apply` makes it refuse every push (for tests of
failures). `import_request` is answered with the local groups.

`rpc` is a look-alike of Kerio's JSON-RPC administration API for the three kinds
(`IpAddressGroups`, `UrlGroups`, `TimeRanges`: `get`, `create`, `set`, `remove`, `apply`,
`reset`, `getGroupList`), served by the admin UI at `/admin/api/jsonrpc/`. Edits are cached
until `apply`, as on a real box; shared entries refuse them.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mykerio.definitions.model import (
    DefinitionError,
    Kind,
    Problem,
    entry_to_wire,
    groups_to_wire,
    parse_entry,
    parse_groups,
)
from mykerio.definitions.validation import entry_problem, validate
from mykerio.protocol.definitions import FEATURE
from mykerio.protocol.envelope import Envelope, JsonValue

SHARED_READ_ONLY = "This item is shared in MyKerio and can be changed only there."
REFUSED = "The appliance refused to apply the configuration (simulated failure)."
_BY_INTERFACE = {kind.interface: kind for kind in Kind}
# The parameter names differ by interface (Kerio's IDL): time ranges say `ranges`/`rangeIds`.
_LIST_PARAM = {Kind.IP: "groups", Kind.URL: "groups", Kind.TIME: "ranges"}
_IDS_PARAM = {Kind.IP: "groupIds", Kind.URL: "groupIds", Kind.TIME: "rangeIds"}

Row = dict[str, Any]


class RpcError(Exception):
    """A JSON-RPC error (`code`, `message`) for the caller."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LocalDefinitions:
    """One box's IP address groups, URL groups and time ranges."""

    def __init__(self, *, refuse_apply: bool = False) -> None:
        self.refuse_apply = refuse_apply
        self._ids = itertools.count(1)
        self._rows: dict[Kind, list[Row]] = {kind: [] for kind in Kind}
        self._working: dict[Kind, list[Row] | None] = dict.fromkeys(Kind)
        self._versions: dict[Kind, int] = dict.fromkeys(Kind, 0)
        self._changed: asyncio.Event | None = None  # set whenever a push is answered

    @classmethod
    def from_file(cls, path: Path, *, refuse_apply: bool = False) -> LocalDefinitions:
        """Local groups from a JSON file `{kind: [groups in the wire form]}`; `ValueError` if
        it is not one (the groups must keep the hub's rules)."""
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, Mapping):
            raise ValueError("the definitions file must hold an object of kind to groups")
        local = cls(refuse_apply=refuse_apply)
        for name, groups in data.items():
            local.add_local(Kind(name), groups)
        return local

    def add_local(self, kind: Kind, groups: object) -> None:
        """Add local groups (wire form), checked by the hub's rules."""
        parsed = parse_groups(kind, groups, keep_ids=False)
        validate(kind, parsed)
        for group in groups_to_wire(parsed):
            group_id = self._new_id()
            for entry in group["entries"]:
                self._rows[kind].append(self._row(entry, group_id, group["name"], ""))
            if not group["entries"]:
                # Kerio has no empty groups; a placeholder keeps the name (disabled, no effect).
                self._rows[kind].append(self._row(_placeholder(kind), group_id, group["name"], ""))

    # A hook of the sessions (mykerio.agent.session.SessionHook).
    message_types = frozenset({"definitions", "import_request"})

    def linked(self, session: Any) -> None:
        """Welcomed: report the versions held, if the hub chose the feature."""
        if FEATURE in session.features:
            session.send(Envelope.new("definitions_versions", {"versions": self.versions()}))

    def message(self, session: Any, envelope: Envelope) -> None:
        """A push or an import request: answer it."""
        session.send(self.answer(envelope))

    def unlinked(self) -> None:
        """The connection closed (nothing to do: the next one reports again)."""

    def versions(self) -> dict[str, JsonValue]:
        """The `definitions_versions` body's `versions`."""
        return {kind.value: self._versions[kind] for kind in Kind}

    def version(self, kind: Kind) -> int:
        """The version of the shared definitions of `kind` it holds."""
        return self._versions[kind]

    async def wait_for(self, predicate: Callable[[LocalDefinitions], bool], timeout: float) -> None:
        """Return once `predicate` holds, checked now and after every push it answers."""
        async with asyncio.timeout(timeout):
            while not predicate(self):
                self._changed = self._changed or asyncio.Event()
                await self._changed.wait()

    def answer(self, message: Envelope) -> Envelope:
        """The answer to a `definitions` push or an `import_request`."""
        try:
            return self._answer(message)
        finally:
            if self._changed is not None:
                self._changed.set()
                self._changed = None

    def _answer(self, message: Envelope) -> Envelope:
        kind = Kind(str(message.body["kind"]))
        if message.type == "import_request":
            return message.reply("import_result", {"kind": kind.value, "groups": self.local(kind)})
        version = int(str(message.body["version"]))
        body: dict[str, JsonValue] = {"kind": kind.value, "version": self._versions[kind]}
        if self.refuse_apply:
            error: JsonValue = {"group": "", "entry": 0, "message": REFUSED}
            return message.reply("definitions_applied", {**body, "ok": False, "errors": [error]})
        if version == self._versions[kind]:
            return message.reply("definitions_applied", {**body, "ok": True})  # (idempotent)
        try:
            groups = parse_groups(kind, message.body["groups"])
            validate(kind, groups)
        except DefinitionError as error:
            errors: list[JsonValue] = [
                {"group": p.group[:100], "entry": p.entry, "message": p.message[:300]}
                for p in error.problems
            ]
            return message.reply("definitions_applied", {**body, "ok": False, "errors": errors})
        self._replace_shared(kind, message.body["groups"])
        self._versions[kind] = version
        return message.reply("definitions_applied", {**body, "version": version, "ok": True})

    # What the admin page shows.
    def local(self, kind: Kind) -> list[dict[str, Any]]:
        """The local (not shared) groups of a kind, in the wire form."""
        return self._groups(kind, shared=False)

    def shared(self, kind: Kind) -> list[dict[str, Any]]:
        """The shared groups of a kind, in the wire form (with the hub's ids)."""
        return self._groups(kind, shared=True)

    # Kerio's JSON-RPC look-alike.
    def rpc(self, method: str, params: Mapping[str, Any]) -> Any:
        """Run `Interface.method` with `params`; its result, or `RpcError`."""
        interface, _, name = method.partition(".")
        kind = _BY_INTERFACE.get(interface)
        if kind is None:
            raise RpcError(-32601, f"Method not found: {method[:80]}")
        working = self._edit(kind)
        if name == "get":
            rows = [_public(row) for row in working]
            return {"list": rows, "totalItems": len(rows)}
        if name == "getGroupList":
            names = sorted({(r["groupId"], r["groupName"]) for r in working}, key=lambda g: g[1])
            return {"groups": [{"id": gid, "name": gname} for gid, gname in names]}
        if name == "create":
            return self._create(kind, working, params.get(_LIST_PARAM[kind]))
        if name == "set":
            return self._set(kind, working, params.get(_IDS_PARAM[kind]), params.get("details"))
        if name == "remove":
            return self._remove(working, params.get(_IDS_PARAM[kind]))
        if name == "apply":
            self._rows[kind] = working
            self._working[kind] = None
            for row in working:
                row["status"] = "StoreStatusClean"
            return {"errors": []}
        if name == "reset":
            self._working[kind] = None
            return {}
        raise RpcError(-32601, f"Method not found: {method[:80]}")

    # Inside.
    def _edit(self, kind: Kind) -> list[Row]:
        working = self._working[kind]
        if working is None:
            working = self._working[kind] = copy.deepcopy(self._rows[kind])
        return working

    def _create(self, kind: Kind, working: list[Row], items: object) -> JsonValue:
        if not isinstance(items, list):
            raise RpcError(-32602, f"Invalid params: {_LIST_PARAM[kind]} must be a list")
        errors: list[JsonValue] = []
        created: list[JsonValue] = []
        for position, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise RpcError(-32602, "Invalid params: each item must be an object")
            name = str(item.get("groupName", ""))
            group = next((r for r in working if r["groupName"].casefold() == name.casefold()), None)
            if group is not None and group["sharedId"]:
                errors.append({"inputIndex": position, "code": 1000, "message": SHARED_READ_ONLY})
                continue
            try:
                entry = _entry_of(kind, item)
            except DefinitionError as error:
                errors.append({"inputIndex": position, "code": 1000, "message": str(error)})
                continue
            group_id = group["groupId"] if group is not None else self._new_id()
            row = self._row(entry, group_id, name, "", status="StoreStatusNew")
            working.append(row)
            created.append({"inputIndex": position, "id": row["id"]})
        return {"errors": errors, "result": created}

    def _set(self, kind: Kind, working: list[Row], ids: object, details: object) -> JsonValue:
        if not isinstance(ids, list) or not isinstance(details, Mapping):
            raise RpcError(-32602, "Invalid params: ids must be a list and details an object")
        try:
            entry = _entry_of(kind, details)
        except DefinitionError as error:
            raise RpcError(1000, str(error)) from None
        errors: list[JsonValue] = []
        for position, entry_id in enumerate(ids):
            row = next((r for r in working if r["id"] == entry_id), None)
            if row is None or row["sharedId"]:
                message = SHARED_READ_ONLY if row is not None else "No such item."
                errors.append({"inputIndex": position, "code": 1000, "message": message})
                continue
            row.update(self._row(entry, row["groupId"], row["groupName"], "", row["id"]))
            row["status"] = "StoreStatusModified"
        return {"errors": errors}

    def _remove(self, working: list[Row], ids: object) -> JsonValue:
        if not isinstance(ids, list):
            raise RpcError(-32602, "Invalid params: ids must be a list")
        errors: list[JsonValue] = []
        for position, entry_id in enumerate(ids):
            row = next((r for r in working if r["id"] == entry_id), None)
            if row is None or row["sharedId"]:
                message = SHARED_READ_ONLY if row is not None else "No such item."
                errors.append({"inputIndex": position, "code": 1000, "message": message})
                continue
            working.remove(row)
        return {"errors": errors}

    def _replace_shared(self, kind: Kind, groups: object) -> None:
        assert isinstance(groups, list | tuple)
        shared_names = {str(g["name"]).casefold() for g in groups}
        # Local groups named as shared ones are adopted: their local entries give way.
        kept = [
            row
            for row in self._rows[kind]
            if not row["sharedId"] and row["groupName"].casefold() not in shared_names
        ]
        adopted_ids = {
            row["groupName"].casefold(): row["groupId"]
            for row in self._rows[kind]
            if row["groupName"].casefold() in shared_names
        }
        for group in groups:
            name = str(group["name"])
            group_id = adopted_ids.get(name.casefold()) or self._new_id()
            entries = group["entries"] or [_placeholder(kind)]
            for entry in entries:
                # (Thawed: a pushed message's body is frozen, the box's rows are its own.)
                kept.append(self._row(_thawed(entry), group_id, name, str(group["id"])))
        self._rows[kind] = kept
        self._working[kind] = None  # an edit in progress is dropped, as `apply` from MyKerio

    def _groups(self, kind: Kind, *, shared: bool) -> list[dict[str, Any]]:
        groups: dict[str, dict[str, Any]] = {}
        for row in self._rows[kind]:
            if bool(row["sharedId"]) != shared:
                continue
            group = groups.setdefault(
                row["groupId"],
                {"id": row["sharedId"], "name": row["groupName"], "entries": []}
                if shared
                else {"name": row["groupName"], "entries": []},
            )
            if not row.get("placeholder"):
                group["entries"].append(_wire(row))
        return list(groups.values())

    def _row(
        self,
        entry: Mapping[str, Any],
        group_id: str,
        group_name: str,
        shared_id: str,
        entry_id: str | None = None,
        status: str = "StoreStatusClean",
    ) -> Row:
        row: Row = {
            "id": entry_id or self._new_id(),
            "groupId": group_id,
            "groupName": group_name,
            "sharedId": shared_id,
            "status": status,
        }
        row.update(entry)
        return row

    def _new_id(self) -> str:
        return str(next(self._ids))


def _entry_of(kind: Kind, item: Mapping[str, Any]) -> dict[str, Any]:
    group = str(item.get("groupName", ""))
    entry = parse_entry(kind, item, group=group)
    problem = entry_problem(entry)
    if problem is not None:
        raise DefinitionError([Problem(group, 0, f"{entry.type}: {problem}")])
    return entry_to_wire(entry)


def _thawed(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thawed(v) for v in value]
    return value


def _placeholder(kind: Kind) -> dict[str, Any]:
    base = {Kind.IP: "ThisMachine", Kind.URL: "Url", Kind.TIME: "TimeRangeDaily"}[kind]
    return {"type": base, "enabled": False, "description": "", "placeholder": True}


_ROW_ONLY = frozenset({"id", "groupId", "groupName", "sharedId", "status", "placeholder"})


def _wire(row: Row) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in _ROW_ONLY}


def _public(row: Row) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "placeholder"}
