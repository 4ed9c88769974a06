"""API: an organization's shared definitions (guide section 4.3) and each appliance's sync.

Routes under `/api/v1/organizations/{org_id}/definitions/{kind}`, `kind` one of
`ip_address_groups`, `url_groups`, `time_ranges`: the groups with every appliance's sync state;
groups (create, rename, delete) and their entries (add, edit, remove); the version history and
revert; retry of a failed appliance; import of an appliance's local groups. Every change is in
the organization's activity log; a non-member gets the same 404 as for no organization.
"""

from __future__ import annotations

from collections.abc import Callable

import tornado.web

from actors.organization import OrganizationActor
from actors.organization.definitions import DefinitionsView
from mykerio.definitions import model as core
from mykerio.definitions.model import Kind, group_to_wire, parse_entry
from mykerio.errors import InvalidInput, NotFound
from web.models import definitions as models
from web.openapi import Answer, Operation, Route
from web.orgs import OrgHandler

TAG = "definitions"
NOT_FOUND = "No such organization (or you are not a member), kind, group or entry"
INVALID = "The definitions would break a rule (the message names the group, entry and rule)"


def kind_of(name: str) -> Kind:
    """The kind a path names; 404 for any other."""
    try:
        return Kind(name)
    except ValueError:
        raise NotFound(f"definitions {name[:40]}") from None


def entry_of(kind: Kind, body: models.EntryBody) -> core.Entry:
    """The core's entry from a request body (its rules are checked with the whole kind)."""
    return parse_entry(kind, body.wire())


def group_model(group: core.Group) -> models.Group:
    """A group as the API answers it."""
    return models.Group.model_validate(group_to_wire(group))


def index_of(text: str) -> int:
    """An entry's position in the path (from 1, as the dashboard numbers them) → from 0."""
    if not text.isdigit() or not 1 <= int(text) <= 100_000:
        raise NotFound(f"entry {text[:12]}")
    return int(text) - 1


class DefinitionsHandler(OrgHandler):
    """A kind's groups with every appliance's sync state."""

    openapi = {
        "get": Operation(
            "A kind's shared groups at its current version, and each appliance's sync of it",
            TAG,
            {200: Answer("Definitions", models.Definitions)},
            {404: NOT_FOUND},
        )
    }

    async def get(self, org_id: str, kind: str) -> None:
        """View."""
        view: DefinitionsView = await self.org_call(
            org_id, OrganizationActor.definitions, kind_of(kind)
        )
        self.write_model(
            models.Definitions(
                kind=view.kind.value,
                version=view.version,
                groups=[group_model(g) for g in view.groups],
                appliances=[models.ApplianceSync.model_validate(a) for a in view.appliances],
            )
        )


class GroupsHandler(OrgHandler):
    """Creates groups."""

    openapi = {
        "post": Operation(
            "Create a group (with optional first entries); pushed to every Kerio Control",
            TAG,
            {201: Answer("Created", models.Group)},
            {400: INVALID, 404: NOT_FOUND},
            body=models.GroupRequest,
        )
    }

    async def post(self, org_id: str, kind: str) -> None:
        """Create."""
        which = kind_of(kind)
        body = self.body(models.GroupRequest)
        entries = tuple(entry_of(which, e) for e in body.entries)
        group = await self.org_call(
            org_id, OrganizationActor.create_group, self.client, which, body.name, entries
        )
        self.write_model(group_model(group), 201)


class GroupHandler(OrgHandler):
    """Renames and deletes one group."""

    openapi = {
        "patch": Operation(
            "Rename a group (groups nesting it follow)",
            TAG,
            {200: Answer("Renamed", models.Group)},
            {400: INVALID, 404: NOT_FOUND},
            body=models.RenameRequest,
        ),
        "delete": Operation(
            "Delete a group (refused while another group nests it)",
            TAG,
            {204: Answer("Deleted")},
            {400: INVALID, 404: NOT_FOUND},
        ),
    }

    async def patch(self, org_id: str, kind: str, group_id: str) -> None:
        """Rename."""
        name = self.body(models.RenameRequest).name
        group = await self.org_call(
            org_id, OrganizationActor.rename_group, self.client, kind_of(kind), group_id, name
        )
        self.write_model(group_model(group))

    async def delete(self, org_id: str, kind: str, group_id: str) -> None:
        """Delete."""
        await self.org_call(
            org_id, OrganizationActor.delete_group, self.client, kind_of(kind), group_id
        )
        self.set_status(204)
        self.finish()


class EntriesHandler(OrgHandler):
    """Adds entries to a group."""

    openapi = {
        "post": Operation(
            "Add an entry to a group",
            TAG,
            {201: Answer("The group with the entry", models.Group)},
            {400: INVALID, 404: NOT_FOUND},
            body=models.EntryBody,
        )
    }

    async def post(self, org_id: str, kind: str, group_id: str) -> None:
        """Add."""
        which = kind_of(kind)
        entry = entry_of(which, self.body(models.EntryBody))
        group = await self.org_call(
            org_id, OrganizationActor.add_entry, self.client, which, group_id, entry
        )
        self.write_model(group_model(group), 201)


class EntryHandler(OrgHandler):
    """Edits and removes one entry (`number` from 1)."""

    openapi = {
        "put": Operation(
            "Replace an entry",
            TAG,
            {200: Answer("The group", models.Group)},
            {400: INVALID, 404: NOT_FOUND},
            body=models.EntryBody,
        ),
        "delete": Operation(
            "Remove an entry",
            TAG,
            {200: Answer("The group", models.Group)},
            {400: INVALID, 404: NOT_FOUND},
        ),
    }

    async def put(self, org_id: str, kind: str, group_id: str, number: str) -> None:
        """Edit."""
        which = kind_of(kind)
        entry = entry_of(which, self.body(models.EntryBody))
        group = await self.org_call(
            org_id,
            OrganizationActor.edit_entry,
            self.client,
            which,
            group_id,
            index_of(number),
            entry,
        )
        self.write_model(group_model(group))

    async def delete(self, org_id: str, kind: str, group_id: str, number: str) -> None:
        """Remove."""
        group = await self.org_call(
            org_id,
            OrganizationActor.remove_entry,
            self.client,
            kind_of(kind),
            group_id,
            index_of(number),
        )
        self.write_model(group_model(group))


class HistoryHandler(OrgHandler):
    """A kind's version history."""

    openapi = {
        "get": Operation(
            "A kind's versions, newest first, with what changed in each (the last 100)",
            TAG,
            {200: Answer("History", models.History)},
            {404: NOT_FOUND},
        )
    }

    async def get(self, org_id: str, kind: str) -> None:
        """List."""
        versions = await self.org_call(org_id, OrganizationActor.definition_history, kind_of(kind))
        self.write_model(
            models.History(versions=[models.Version.model_validate(v) for v in versions])
        )


class RevertHandler(OrgHandler):
    """Saves an older version's groups as the next version."""

    openapi = {
        "post": Operation(
            "Revert a kind to version N (saved as a new version and pushed)",
            TAG,
            {200: Answer("The new version", models.Reverted)},
            {400: INVALID, 404: NOT_FOUND},
            body=models.RevertRequest,
        )
    }

    async def post(self, org_id: str, kind: str) -> None:
        """Revert."""
        version = self.body(models.RevertRequest).version
        saved = await self.org_call(
            org_id, OrganizationActor.revert_definitions, self.client, kind_of(kind), version
        )
        self.write_model(models.Reverted(version=saved))


class RetryHandler(OrgHandler):
    """Pushes a kind to one appliance again."""

    openapi = {
        "post": Operation(
            "Push the kind to an appliance again (after it failed)",
            TAG,
            {204: Answer("Pushed")},
            {404: NOT_FOUND},
        )
    }

    async def post(self, org_id: str, kind: str, appliance_id: str) -> None:
        """Retry."""
        await self.org_call(
            org_id, OrganizationActor.retry_definitions, appliance_id, kind_of(kind)
        )
        self.set_status(204)
        self.finish()


class LocalGroupsHandler(OrgHandler):
    """An appliance's local groups of a kind (what an import can take)."""

    openapi = {
        "get": Operation(
            "The local (not shared) groups of a kind on one connected Kerio Control",
            TAG,
            {200: Answer("Its local groups", models.Groups)},
            {404: NOT_FOUND, 409: "Not a connected Kerio Control 9.0 or newer", 503: "No answer"},
        )
    }

    async def get(self, org_id: str, kind: str, appliance_id: str) -> None:
        """List."""
        groups = await local_groups(self, org_id, kind_of(kind), appliance_id)
        self.write_model(models.Groups(groups=[group_model(g) for g in groups]))


async def local_groups(
    handler: OrgHandler, org_id: str, kind: Kind, appliance_id: str
) -> tuple[core.Group, ...]:
    """An appliance's local groups of a kind, asked of it through the organization."""
    answer = await handler.org_call(org_id, OrganizationActor.request_import, appliance_id, kind)
    return await answer  # (the actor times it out)


class ImportHandler(OrgHandler):
    """Imports an appliance's local groups as shared ones."""

    openapi = {
        "post": Operation(
            "Import local groups of one Kerio Control as shared groups; a name clash with a "
            "shared group is refused (409), naming it",
            TAG,
            {201: Answer("The imported groups", models.Groups)},
            {
                400: INVALID,
                404: NOT_FOUND,
                409: "A shared group has that name, or not a connected Kerio Control 9.0+",
                503: "No answer",
            },
            body=models.ImportRequest,
        )
    }

    async def post(self, org_id: str, kind: str) -> None:
        """Import."""
        which = kind_of(kind)
        body = self.body(models.ImportRequest)
        local = await local_groups(self, org_id, which, body.appliance_id)
        by_name = {g.name.casefold(): g for g in local}
        missing = [n for n in body.names if n.casefold() not in by_name]
        if missing:
            raise InvalidInput(f'The appliance has no local group "{missing[0][:64]}".')
        chosen = tuple(by_name[n.casefold()] for n in dict.fromkeys(body.names))
        imported = await self.org_call(
            org_id, OrganizationActor.import_groups, self.client, body.appliance_id, which, chosen
        )
        self.write_model(models.Groups(groups=[group_model(g) for g in imported]), 201)


BASE = "/api/v1/organizations/{org_id}/definitions/{kind}"


def routes(org_route: Callable[[str, type[tornado.web.RequestHandler]], Route]) -> list[Route]:
    """The definitions routes (web/app.py adds them to its table)."""
    return [
        org_route(BASE, DefinitionsHandler),
        org_route(f"{BASE}/groups", GroupsHandler),
        org_route(f"{BASE}/groups/{{group_id}}", GroupHandler),
        org_route(f"{BASE}/groups/{{group_id}}/entries", EntriesHandler),
        org_route(f"{BASE}/groups/{{group_id}}/entries/{{number}}", EntryHandler),
        org_route(f"{BASE}/history", HistoryHandler),
        org_route(f"{BASE}/revert", RevertHandler),
        org_route(f"{BASE}/appliances/{{appliance_id}}/retry", RetryHandler),
        org_route(f"{BASE}/appliances/{{appliance_id}}/local", LocalGroupsHandler),
        org_route(f"{BASE}/import", ImportHandler),
    ]
