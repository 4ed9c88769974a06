"""API: an organization's configuration backups (guide 2.6.2) — list by appliance, download
(streamed), compare two of one appliance (both archives read as they stream), delete, "Back up
now" (one appliance or all).

Everything goes through the organization's actor (membership, the activity log, the 404 for
another organization's backup); the list adds each appliance's backup state from the backups
actor. A download is written chunk by chunk, each flushed before the next is read, so the hub
never holds a whole backup in memory and a slow browser slows only its own download.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
import tornado.web

from actors.backups import BackupActor, BackupSettings, BackupState
from actors.organization import OrganizationActor
from mykerio.backups.compare import compare_backups
from mykerio.backups.views import ApplianceBackups, BackupDownload, BackupPair, file_name
from mykerio.errors import Unavailable
from mykerio.models import Backup
from web.models.backups import (
    ApplianceBackupsEntry,
    BackupComparison,
    BackupEntry,
    BackupNowAnswer,
    BackupNowRequest,
    BackupSettingsEntry,
    BackupSettingsRequest,
    BackupsList,
    FileChangeEntry,
)
from web.openapi import Answer, Operation, Route
from web.orgs import OrgHandler

TAG = "backups"
log = structlog.get_logger("web.backups")


def backup_entry(backup: Backup) -> BackupEntry:
    """A backup as the API shows it."""
    return BackupEntry(
        id=backup.id,
        filename=file_name(backup),
        created_at=backup.created_at,
        stored_at=backup.stored_at,
        size=backup.size,
        sha256=backup.sha256,
        product=backup.product,
        version=backup.version,
        reason=backup.reason,  # type: ignore[arg-type]  # (one of the protocol's reasons)
        certificates=backup.certificates,
    )


class BackupsHandler(OrgHandler):
    """Lists the organization's backups by appliance."""

    openapi = {
        "get": Operation(
            "The organization's configuration backups by appliance (removed ones too), newest "
            "first, with each appliance's backup state",
            TAG,
            {200: Answer("List", BackupsList)},
        )
    }

    async def get(self, org_id: str) -> None:
        """List."""
        groups: list[ApplianceBackups] = await self.org_call(org_id, OrganizationActor.backups)
        ids = tuple(group.appliance_id for group in groups)
        states = await self._states(ids)
        settings = await self._settings(ids)
        self.write_model(
            BackupsList(
                appliances=[
                    ApplianceBackupsEntry(
                        appliance_id=group.appliance_id,
                        name=group.name,
                        product=group.product,
                        removed=group.removed,
                        connected=group.connected,
                        state=states[group.appliance_id].state  # type: ignore[arg-type]
                        if group.appliance_id in states
                        else "",
                        state_message=states[group.appliance_id].message
                        if group.appliance_id in states
                        else "",
                        settings=_settings_entry(settings.get(group.appliance_id)),
                        backups=[backup_entry(backup) for backup in group.backups],
                    )
                    for group in groups
                ]
            )
        )

    async def _settings(self, appliance_ids: tuple[str, ...]) -> dict[str, BackupSettings]:
        try:
            return await self.router.backups().call(BackupActor.settings, appliance_ids)
        except Unavailable:
            return {}  # (the backups actor is restarting: the list is still worth showing)

    async def _states(self, appliance_ids: tuple[str, ...]) -> dict[str, BackupState]:
        try:
            return await self.router.backups().call(BackupActor.states, appliance_ids)
        except Unavailable:
            return {}  # (restarting: the list shows no state rather than failing)


class BackupHandler(OrgHandler):
    """Deletes one backup."""

    openapi = {
        "delete": Operation(
            "Delete one backup for good (the activity log notes who and from where)",
            TAG,
            {204: Answer("Deleted")},
            {404: "No such backup in the organization"},
        )
    }

    async def delete(self, org_id: str, backup_id: str) -> None:
        """Delete."""
        await self.org_call(org_id, OrganizationActor.delete_backup, backup_id, self.client)
        self.set_status(204)
        self.finish()


class BackupDownloadHandler(OrgHandler):
    """Downloads one backup, streamed."""

    openapi = {
        "get": Operation(
            "Download one backup (a .tgz to import on the appliance); the activity log notes "
            "who and from where",
            TAG,
            {
                200: Answer(
                    "The backup file",
                    media_type="application/gzip",
                    schema={"type": "string", "format": "binary"},
                )
            },
            {404: "No such backup in the organization"},
        )
    }

    async def get(self, org_id: str, backup_id: str) -> None:
        """Stream the file."""
        download: BackupDownload = await self.org_call(
            org_id, OrganizationActor.download_backup, backup_id, self.client
        )
        self.set_header("Content-Type", "application/gzip")
        self.set_header("Content-Length", str(download.backup.size))
        self.set_header("Content-Disposition", f'attachment; filename="{download.filename}"')
        self.set_header("Cache-Control", "no-store")  # it holds private keys
        sent = 0
        try:
            async for chunk in download.chunks:
                self.write(chunk)
                sent += len(chunk)
                await self.flush()  # (back-pressure: the next chunk waits for this one)
        except Exception as error:  # noqa: BLE001 - the store, the key, the browser went
            # The headers are out: the only honest answer left is a cut connection.
            log.error("backup download failed", backup=backup_id, error=type(error).__name__)
            stream = getattr(self.request.connection, "stream", None)  # (HTTP/1's iostream)
            if stream is not None:
                stream.close()
            return
        self.finish()


def _settings_entry(settings: BackupSettings | None) -> BackupSettingsEntry | None:
    if settings is None:
        return None
    return BackupSettingsEntry(enabled=settings.enabled, every_hours=settings.every_hours)


class BackupSettingsHandler(OrgHandler):
    """Sends an appliance the dashboard's backup settings."""

    openapi = {
        "put": Operation(
            'Send an appliance its backup settings ("Save configuration to MyKerio", the '
            "schedule); it applies them and reports them back (the list then shows them); the "
            "activity log notes who and from where",
            TAG,
            {202: Answer("Sent")},
            {404: "No such appliance", 409: "The appliance is offline or does not back up"},
            body=BackupSettingsRequest,
        )
    }

    async def put(self, org_id: str) -> None:
        """Send."""
        body = self.body(BackupSettingsRequest)
        await self.org_call(
            org_id,
            OrganizationActor.set_backup_settings,
            body.appliance_id,
            body.enabled,
            body.every_hours,
            self.client,
        )
        self.set_status(202)
        self.finish()


class BackupCompareHandler(OrgHandler):
    """Compares two backups of one appliance."""

    openapi = {
        "get": Operation(
            "Compare two backups of one appliance: a text diff of the configuration files "
            "inside (private keys only said to differ); the activity log notes who and from "
            "where. Archives over the hub's limits (entries, sizes, unsafe names, links) are "
            "refused with `archive_refused`",
            TAG,
            {200: Answer("What differs", BackupComparison)},
            {
                400: "Not two backups of one appliance, or an archive the hub will not read",
                404: "No such backup in the organization",
            },
        )
    }

    async def get(self, org_id: str, backup_id: str, other_id: str) -> None:
        """Read both archives as they stream from the store, and compare."""
        pair: BackupPair = await self.org_call(
            org_id, OrganizationActor.compare_backups, backup_id, other_id, self.client
        )
        names = (file_name(pair.older), file_name(pair.newer))
        result = await compare_backups(pair.older_chunks, pair.newer_chunks, names=names)
        self.set_header("Cache-Control", "no-store")  # configuration files
        self.write_model(
            BackupComparison(
                older=backup_entry(pair.older),
                newer=backup_entry(pair.newer),
                files=[
                    FileChangeEntry(
                        path=f.path,
                        change=f.change,  # type: ignore[arg-type]  # (one of the three)
                        diff=f.diff,
                        note=f.note,
                    )
                    for f in result.files
                ],
                unchanged=result.unchanged,
                truncated=result.truncated,
            )
        )


class BackupNowHandler(OrgHandler):
    """Asks appliances for a backup now."""

    openapi = {
        "post": Operation(
            '"Back up now": one appliance (`appliance_id`), or every connected one that can',
            TAG,
            {202: Answer("Asked", BackupNowAnswer)},
            {404: "No such appliance", 409: "The appliance is offline or does not back up"},
            body=BackupNowRequest,
        )
    }

    async def post(self, org_id: str) -> None:
        """Ask."""
        body = self.body(BackupNowRequest)
        asked: int = await self.org_call(
            org_id, OrganizationActor.back_up_now, body.appliance_id or None, self.client
        )
        self.write_model(BackupNowAnswer(asked=asked), 202)


def routes(org_route: Callable[[str, type[tornado.web.RequestHandler]], Route]) -> list[Route]:
    """The Backups section's routes (registered in `web.app`)."""
    base = "/api/v1/organizations/{org_id}/backups"
    return [
        org_route(base, BackupsHandler),
        org_route(f"{base}/now", BackupNowHandler),
        org_route(f"{base}/settings", BackupSettingsHandler),
        org_route(base + "/{backup_id}", BackupHandler),
        org_route(base + "/{backup_id}/download", BackupDownloadHandler),
        org_route(base + "/{backup_id}/compare/{other_id}", BackupCompareHandler),
    ]
