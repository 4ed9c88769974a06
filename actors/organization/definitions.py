"""The organization's shared definitions: editing them, their versions, and each appliance's sync.

One version per kind (`mykerio.definitions.model.Kind`), stored as a history
(`store.definitions`). Every change is validated as a whole, saved as the next version, logged
in the activity log and pushed — the kind's full snapshot, protocol message `definitions` — to
every connected Kerio Control ≥ 9.0 that reported its versions (`definitions_versions`). The
sync state lives here, in memory: it is what the appliances said since they connected (after a
hub restart each one reports again when it reconnects).

Converging: at most one push per (appliance, kind) is awaited, the newest; an answer to an
older one is recorded but the newest is still awaited, and an appliance that ends up holding an
older version than the organization's gets the newest again. Pushes of a version an appliance
holds or is applying are not sent, so they are idempotent on both sides.

Imports ask an appliance for its local groups (`import_request`); the answer comes back as a
message of this actor, so the ask returns a future that the caller awaits outside the actor.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from actors.appliance import ApplianceActor
from actors.clients import ActorClient
from actors.organization.core import OrganizationCore
from mykerio.accounts.context import Client
from mykerio.appliances.view import ApplianceView
from mykerio.definitions import changes, limits
from mykerio.definitions.events import DefinitionsChanged, DefinitionsSyncChanged
from mykerio.definitions.model import (
    DefinitionError,
    Entry,
    Group,
    Kind,
    Problem,
    Snapshot,
    groups_to_wire,
    new_group_id,
    parse_groups,
    snapshot_json,
)
from mykerio.definitions.sync import NO_CAPABILITY, SyncView, VersionView, why_not
from mykerio.definitions.validation import validate
from mykerio.errors import Conflict, NotFound, Unavailable
from mykerio.models import DefinitionVersion, User, definition_version_id
from mykerio.protocol.envelope import Envelope, JsonValue

IMPORT_TIMEOUT = 20.0
# A push not answered within this many seconds shows as failed ("no answer"); a retry, a newer
# version or the appliance's next connection sends it again.
PUSH_ANSWER_SECONDS = 60.0
NO_ANSWER = "the appliance did not answer within 60 s"
# Pushes sent in one turn of the loop: a change for 1,000 Controls does not hold the loop (and
# every other appliance's ping) for the whole fan-out.
PUSHES_PER_TURN = 50


@dataclasses.dataclass(slots=True)
class _Sync:
    """What one connected appliance said of one kind."""

    held: int = 0  # the version it holds
    pending: tuple[str, int] | None = None  # (push message id, version) awaited
    failed: tuple[int, str] | None = None  # (version refused, why)
    timer: asyncio.TimerHandle | None = None  # the pending push's answer deadline


@dataclasses.dataclass(frozen=True, slots=True)
class DefinitionsView:
    """A kind of the organization's shared definitions and every appliance's sync of it."""

    kind: Kind
    version: int
    groups: tuple[Group, ...]
    appliances: tuple[SyncView, ...]


class DefinitionsPart(OrganizationCore):
    """Shared definitions of one organization (a part of its OrganizationActor)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._snapshots: dict[Kind, Snapshot] = {}  # loaded on first use
        self._syncs: dict[str, dict[Kind, _Sync]] = {}  # by appliance id, since it reported
        self._imports: dict[str, tuple[str, Kind, asyncio.Future[tuple[Group, ...]]]] = {}
        self._messages: dict[Kind, tuple[int, Envelope]] = {}  # the push of each kind's version

    # What members ask.
    async def definitions(self, user: User, kind: Kind) -> DefinitionsView:
        """The kind's groups at its current version, with every appliance's sync state."""
        self._require_member(user)
        snapshot = await self._snapshot(kind)
        return DefinitionsView(kind, snapshot.version, snapshot.groups, self._sync_views(kind))

    async def definition_history(self, user: User, kind: Kind) -> tuple[VersionView, ...]:
        """The kind's versions, newest first, with what changed in each."""
        self._require_member(user)
        versions = await self._store.definitions.history(
            self.org_id, kind.value, limits.HISTORY_KEPT
        )
        return tuple(
            VersionView(v.version, v.at.isoformat(), v.actor_email, v.change) for v in versions
        )

    async def create_group(
        self, user: User, client: Client, kind: Kind, name: str, entries: tuple[Entry, ...] = ()
    ) -> Group:
        """A new group (with these entries)."""
        snapshot = await self._snapshot(kind)
        groups, group = changes.create_group(snapshot.groups, name.strip(), entries)
        await self._change(user, client, kind, groups, "definition_group_created", group.name)
        return group

    async def rename_group(
        self, user: User, client: Client, kind: Kind, group_id: str, name: str
    ) -> Group:
        """The group under a new name; groups nesting it follow."""
        snapshot = await self._snapshot(kind)
        groups, group, old = changes.rename_group(snapshot.groups, group_id, name.strip())
        await self._change(
            user, client, kind, groups, "definition_group_renamed", old, f"to {group.name}"
        )
        return group

    async def delete_group(self, user: User, client: Client, kind: Kind, group_id: str) -> None:
        """Delete a group (refused while another group nests it)."""
        snapshot = await self._snapshot(kind)
        groups, old = changes.delete_group(snapshot.groups, group_id)
        await self._change(user, client, kind, groups, "definition_group_deleted", old.name)

    async def add_entry(
        self, user: User, client: Client, kind: Kind, group_id: str, entry: Entry
    ) -> Group:
        """The group with one more entry."""
        snapshot = await self._snapshot(kind)
        groups, group = changes.add_entry(snapshot.groups, group_id, entry)
        detail = f"added {entry.type}"
        await self._change(user, client, kind, groups, "definition_changed", group.name, detail)
        return group

    async def edit_entry(
        self, user: User, client: Client, kind: Kind, group_id: str, index: int, entry: Entry
    ) -> Group:
        """The group with entry `index` (from 0) replaced."""
        snapshot = await self._snapshot(kind)
        groups, group = changes.edit_entry(snapshot.groups, group_id, index, entry)
        detail = f"edited entry {index + 1}"
        await self._change(user, client, kind, groups, "definition_changed", group.name, detail)
        return group

    async def remove_entry(
        self, user: User, client: Client, kind: Kind, group_id: str, index: int
    ) -> Group:
        """The group without entry `index` (from 0)."""
        snapshot = await self._snapshot(kind)
        groups, group = changes.remove_entry(snapshot.groups, group_id, index)
        detail = f"removed entry {index + 1}"
        await self._change(user, client, kind, groups, "definition_changed", group.name, detail)
        return group

    async def revert_definitions(self, user: User, client: Client, kind: Kind, version: int) -> int:
        """Save the groups of an older version as the next version; the new version."""
        self._require_member(user)
        old = await self._store.definitions.version(self.org_id, kind.value, version)
        if old is None:
            raise NotFound(f"version {version} of {kind.value}")
        groups = parse_groups(kind, json.loads(old.groups))
        detail = f"to version {version}"
        return await self._change(
            user, client, kind, groups, "definitions_reverted", kind.title + "s", detail
        )

    async def retry_definitions(self, user: User, appliance_id: str, kind: Kind) -> None:
        """Push the kind to one appliance again (after a failure)."""
        self._require_member(user)
        sync = self._syncs_of(appliance_id).get(kind)
        if sync is None:
            raise NotFound(f"appliance {appliance_id}")
        sync.failed = None
        sync.pending = None
        await self._push(appliance_id, kind)

    async def request_import(
        self, user: User, appliance_id: str, kind: Kind
    ) -> asyncio.Future[tuple[Group, ...]]:
        """Ask an appliance for its local groups of a kind; a future of them (the caller
        awaits it outside this actor): `Unavailable` after `IMPORT_TIMEOUT` s."""
        self._require_member(user)
        appliance = self._eligible_client(appliance_id)
        message = Envelope.new("import_request", {"kind": kind.value})
        future: asyncio.Future[tuple[Group, ...]] = asyncio.get_running_loop().create_future()
        self._imports[message.id] = (appliance_id, kind, future)
        appliance.tell(ApplianceActor.send_feature, message)
        me: ActorClient[DefinitionsPart] = ActorClient(self.actor_ref, 0.0)
        asyncio.get_running_loop().call_later(
            IMPORT_TIMEOUT, lambda: me.tell(DefinitionsPart.import_timed_out, message.id)
        )
        return future

    async def import_groups(
        self, user: User, client: Client, appliance_id: str, kind: Kind, groups: tuple[Group, ...]
    ) -> tuple[Group, ...]:
        """Make these groups (read from that appliance) shared ones; a name clash with a
        shared group is refused, naming it, not merged."""
        snapshot = await self._snapshot(kind)
        clashes = [g.name for g in groups if snapshot.named(g.name) is not None]
        if clashes:
            raise Conflict(
                "A shared group already has this name: "
                + ", ".join(f'"{name}"' for name in clashes[:5])
                + ". Rename or delete it first."
            )
        fresh = tuple(dataclasses.replace(g, id=new_group_id()) for g in groups)
        view = self._roster.get(appliance_id)
        source = view.name if view else appliance_id
        names = ", ".join(g.name for g in fresh)
        await self._change(
            user,
            client,
            kind,
            snapshot.groups + fresh,
            "definitions_imported",
            source,
            f"{kind.title}s {names}",
        )
        return fresh

    # What appliance actors tell.
    async def definitions_message(self, appliance_id: str, envelope: Envelope) -> None:
        """A `definitions_versions`, `definitions_applied` or `import_result` of an appliance."""
        view = self._roster.get(appliance_id)
        if view is None:
            return
        body = envelope.body
        if envelope.type == "definitions_versions":
            reported = body.get("versions")
            held = reported if isinstance(reported, Mapping) else {}
            self._syncs[appliance_id] = {
                kind: _Sync(held=_int(held.get(kind.value, 0))) for kind in Kind
            }
            if not why_not(view.product, view.version):
                for kind in Kind:
                    await self._push(appliance_id, kind)
            for kind in Kind:
                self._synced(appliance_id, kind)
        elif envelope.type == "definitions_applied":
            await self._applied(appliance_id, envelope)
            self._synced(appliance_id, Kind(str(envelope.body["kind"])))
        elif envelope.type == "import_result":
            self._import_answered(appliance_id, envelope)

    # Inside.
    async def _snapshot(self, kind: Kind) -> Snapshot:
        snapshot = self._snapshots.get(kind)
        if snapshot is None:
            stored = await self._store.definitions.current(self.org_id, kind.value)
            snapshot = (
                Snapshot(kind)
                if stored is None
                else Snapshot(kind, stored.version, parse_groups(kind, json.loads(stored.groups)))
            )
            self._snapshots[kind] = snapshot
        return snapshot

    async def _change(
        self,
        user: User,
        client: Client,
        kind: Kind,
        groups: Sequence[Group],
        action: str,
        target: str,
        detail: str = "",
    ) -> int:
        self._require_member(user)
        before = await self._snapshot(kind)
        validate(kind, groups)
        after = Snapshot(kind, before.version + 1, tuple(groups))
        record = DefinitionVersion(
            id=definition_version_id(self.org_id, kind.value, after.version),
            org_id=self.org_id,
            kind=kind.value,
            version=after.version,
            at=self._clock.now(),
            actor_email=user.email,
            change=changes.describe(before.groups, after.groups),
            groups=snapshot_json(after),
        )
        try:
            await self._store.definitions.add(record, keep=limits.HISTORY_KEPT)
        except Conflict:
            # Saved elsewhere meanwhile (another hub node): read it, and let the member retry.
            self._snapshots.pop(kind, None)
            raise Conflict("The definitions changed meanwhile. Reload and try again.") from None
        self._snapshots[kind] = after
        await self._record(user, client, action, target, detail or record.change)
        self._bus.publish(
            DefinitionsChanged(self.org_id, self.member_ids(), kind.value, after.version)
        )
        for number, appliance_id in enumerate(list(self._syncs), 1):
            await self._push(appliance_id, kind, shared=True)
            if number % PUSHES_PER_TURN == 0:
                await asyncio.sleep(0)  # let other appliances' frames through meanwhile
        return after.version

    async def _push(self, appliance_id: str, kind: Kind, *, shared: bool = False) -> None:
        """Send the kind's newest version to an appliance unless it holds it, is applying it
        or refused it. `shared`: the fan-out of a change, where every appliance gets the same
        message; a push of one appliance's own (its report, a retry, a catch-up) gets a fresh
        id, so an answer to an earlier push of the same version is told apart."""
        sync = self._syncs_of(appliance_id).get(kind)
        view = self._roster.get(appliance_id)
        if sync is None or view is None or why_not(view.product, view.version):
            return
        snapshot = await self._snapshot(kind)
        if sync.held == snapshot.version or (
            sync.pending is not None and sync.pending[1] == snapshot.version
        ):
            return  # it holds it, or is applying it
        if sync.failed is not None and sync.failed[0] == snapshot.version:
            return  # refused: only a retry or a newer version sends it again
        appliance = self._find_appliance(appliance_id)
        if appliance is None:
            return
        message = self._push_message(snapshot) if shared else _push_message(snapshot)
        sync.pending = (message.id, snapshot.version)
        if sync.timer is not None:
            sync.timer.cancel()
        me: ActorClient[DefinitionsPart] = ActorClient(self.actor_ref, 0.0)
        sync.timer = asyncio.get_running_loop().call_later(
            PUSH_ANSWER_SECONDS,
            lambda: me.tell(DefinitionsPart.push_unanswered, appliance_id, kind, message.id),
        )
        appliance.tell(ApplianceActor.send_feature, message)

    def _push_message(self, snapshot: Snapshot) -> Envelope:
        """The fan-out's `definitions` message of a snapshot, built once per version: every
        appliance gets the same envelope (its id included), so it is checked and encoded once,
        not once per appliance (the cost of a push to 1,000 Controls)."""
        cached = self._messages.get(snapshot.kind)
        if cached is not None and cached[0] == snapshot.version:
            return cached[1]
        message = _push_message(snapshot)
        self._messages[snapshot.kind] = (snapshot.version, message)
        return message

    def push_unanswered(self, appliance_id: str, kind: Kind, message_id: str) -> None:
        """A push's answer deadline passed (told by its timer)."""
        sync = self._syncs_of(appliance_id).get(kind)
        if sync is None or sync.pending is None or sync.pending[0] != message_id:
            return  # answered, or superseded
        sync.failed, sync.pending, sync.timer = (sync.pending[1], NO_ANSWER), None, None
        self._synced(appliance_id, kind)

    async def _applied(self, appliance_id: str, envelope: Envelope) -> None:
        kind = Kind(str(envelope.body["kind"]))
        sync = self._syncs_of(appliance_id).get(kind)
        if sync is None:
            return
        version = _int(envelope.body.get("version"))
        newest = sync.pending is not None and sync.pending[0] == envelope.re
        if newest and sync.timer is not None:
            sync.timer.cancel()
            sync.timer = None
        if envelope.body.get("ok") is True:
            sync.held = version
            if newest:
                sync.pending, sync.failed = None, None
        elif newest and sync.pending is not None:
            refused = sync.pending[1]
            sync.pending, sync.held = None, version
            sync.failed = (refused, _errors_text(envelope.body.get("errors")))
            self.log.info("definitions refused", appliance=appliance_id, kind=kind.value)
            return
        if sync.pending is None:
            await self._push(appliance_id, kind)  # it holds an older one: send the newest

    def _synced(self, appliance_id: str, kind: Kind) -> None:
        self._bus.publish(
            DefinitionsSyncChanged(self.org_id, self.member_ids(), appliance_id, kind.value)
        )

    def _import_answered(self, appliance_id: str, envelope: Envelope) -> None:
        waiting = self._imports.pop(envelope.re or "", None)
        if waiting is None or waiting[0] != appliance_id:
            return  # answers nothing asked of this appliance (it may cross a reconnect)
        _appliance, kind, future = waiting
        if future.done():
            return
        try:
            groups = parse_groups(kind, envelope.body.get("groups"), keep_ids=False)
        except DefinitionError as error:
            future.set_exception(error)
            return
        future.set_result(groups)

    def import_timed_out(self, message_id: str) -> None:
        """An import's answer deadline passed (told by its timer)."""
        waiting = self._imports.pop(message_id, None)
        if waiting is not None and not waiting[2].done():
            waiting[2].set_exception(Unavailable("The appliance did not answer. Try again."))

    def _eligible_client(self, appliance_id: str) -> ActorClient[ApplianceActor]:
        view = self._roster.get(appliance_id)
        if view is None:
            raise NotFound(f"appliance {appliance_id}")
        reason = why_not(view.product, view.version)
        if reason:
            raise Conflict(f"{view.name}: {reason}.")
        appliance = self._find_appliance(appliance_id)
        if appliance is None or appliance_id not in self._syncs:
            raise Conflict(f"{view.name} is not connected with shared definitions.")
        return appliance

    def _syncs_of(self, appliance_id: str) -> dict[Kind, _Sync]:
        return self._syncs.get(appliance_id, {})

    def _sync_views(self, kind: Kind) -> tuple[SyncView, ...]:
        views = []
        for view in sorted(self._roster.values(), key=lambda v: (v.name.casefold(), v.id)):
            views.append(self._sync_view(view, kind))
        return tuple(views)

    def _sync_view(self, view: ApplianceView, kind: Kind) -> SyncView:
        base = SyncView(view.id, view.name, view.product, view.version, "not_eligible")
        reason = why_not(view.product, view.version)
        if reason:
            return dataclasses.replace(base, reason=reason)
        sync = self._syncs_of(view.id).get(kind)
        if not view.connected or self._find_appliance(view.id) is None:
            return dataclasses.replace(base, state="offline")
        if sync is None:
            return dataclasses.replace(base, reason=NO_CAPABILITY)
        if sync.pending is not None:
            return dataclasses.replace(base, state="pending", version=sync.pending[1])
        if sync.failed is not None:
            return dataclasses.replace(
                base, state="failed", version=sync.held, error=sync.failed[1]
            )
        current = self._snapshots.get(kind)
        if current is not None and sync.held != current.version:
            return dataclasses.replace(base, state="pending", version=current.version)
        return dataclasses.replace(base, state="in_sync", version=sync.held)


def _push_message(snapshot: Snapshot) -> Envelope:
    """A `definitions` message with the kind's full snapshot."""
    body: dict[str, JsonValue] = {
        "kind": snapshot.kind.value,
        "version": snapshot.version,
        "groups": groups_to_wire(snapshot.groups),
    }
    return Envelope.new("definitions", body)


def _int(value: object) -> int:
    return value if type(value) is int else 0


def _errors_text(errors: object) -> str:
    if not isinstance(errors, list | tuple) or not errors:
        return "the appliance refused the definitions"
    problems = [
        Problem(str(e.get("group", "")), _int(e.get("entry")), str(e.get("message", "")))
        for e in errors
        if isinstance(e, Mapping)
    ]
    return "; ".join(str(p) for p in problems[:3])
