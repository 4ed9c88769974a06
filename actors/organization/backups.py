"""The backups part of an organization's actor: the Backups section (guide 2.6.2).

Members list the organization's configuration backups grouped by appliance (a removed
appliance's too: they are kept), download one, compare two of one appliance, delete one, and
ask for a backup now ("Back up now", one appliance or all of them). A backup of another
organization answers the same 404 as one that does not exist. Every download, comparison,
deletion and request is written to the organization's activity log with the member and the
address they came from. Downloads (and comparisons) are handed out as iterators of plain
chunks that the caller reads outside this actor: a long transfer never keeps the organization
busy.
"""

from __future__ import annotations

from actors.appliance import ApplianceActor
from actors.organization.core import OrganizationCore
from mykerio.accounts.context import Client
from mykerio.backups.views import ApplianceBackups, BackupDownload, BackupPair, file_name
from mykerio.errors import Conflict, InvalidInput, NotFound, Unavailable
from mykerio.models import Backup, User

NOT_CONNECTED = "The appliance is not connected to MyKerio; it can back up once it is back."
NO_BACKUPS = "This appliance does not save its configuration to MyKerio."
NOT_CONNECTED_SETTINGS = (
    "The appliance is not connected to MyKerio; change its settings once it is back."
)
BACKUP_PRODUCTS = ("control", "operator")


class BackupsPart(OrganizationCore):
    """The organization's configuration backups."""

    async def backups(self, user: User) -> list[ApplianceBackups]:
        """Every backup of the organization, by appliance (by name; removed ones last)."""
        self._require_member(user)
        found = await self._store.backups.of_organization(self.org_id)
        by_appliance: dict[str, list[Backup]] = {}
        for backup in found:
            by_appliance.setdefault(backup.appliance_id, []).append(backup)
        groups = [
            ApplianceBackups(
                appliance_id=view.id,
                name=view.name,
                product=view.product,
                removed=False,
                connected=view.connected,
                backups=tuple(by_appliance.pop(view.id, ())),
            )
            for view in self._roster.values()
            if view.product in BACKUP_PRODUCTS
        ]
        for appliance_id, kept in by_appliance.items():
            newest = kept[0]
            groups.append(
                ApplianceBackups(
                    appliance_id=appliance_id,
                    name=newest.appliance_name,
                    product=newest.product,
                    removed=True,
                    connected=False,
                    backups=tuple(kept),
                )
            )
        return sorted(groups, key=lambda g: (g.removed, g.name.casefold(), g.appliance_id))

    async def download_backup(self, user: User, backup_id: str, client: Client) -> BackupDownload:
        """One backup's bytes to download (the activity log notes it now)."""
        self._require_member(user)
        backup = await self._own_backup(backup_id)
        name = file_name(backup)
        if self._backups is None:
            raise Unavailable("Backups are not available on this hub right now.")
        chunks = self._backups.plaintext(backup.id)
        await self._record(user, client, "backup_downloaded", backup.appliance_name, name)
        return BackupDownload(backup, name, chunks)

    async def compare_backups(
        self, user: User, backup_id: str, other_id: str, client: Client
    ) -> BackupPair:
        """Two backups of one appliance to compare, older first, with their bytes (read by the
        caller, outside this actor); the activity log notes it like a download (it shows
        what the backups hold)."""
        self._require_member(user)
        first, second = await self._own_backup(backup_id), await self._own_backup(other_id)
        if first.appliance_id != second.appliance_id or first.id == second.id:
            raise InvalidInput("Compare two different backups of one appliance.")
        if self._backups is None:
            raise Unavailable("Backups are not available on this hub right now.")
        older, newer = sorted((first, second), key=lambda b: (b.stored_at, b.id))
        detail = f"{file_name(older)} with {file_name(newer)}"
        await self._record(user, client, "backups_compared", older.appliance_name, detail)
        return BackupPair(
            older, newer, self._backups.plaintext(older.id), self._backups.plaintext(newer.id)
        )

    async def delete_backup(self, user: User, backup_id: str, client: Client) -> None:
        """Delete one backup, for good."""
        self._require_member(user)
        backup = await self._own_backup(backup_id)
        await self._store.backups.delete(backup.id)
        await self._record(user, client, "backup_deleted", backup.appliance_name, file_name(backup))

    async def back_up_now(self, user: User, appliance_id: str | None, client: Client) -> int:
        """Ask one appliance (or, with None, every connected one that can) for a backup now;
        how many were asked. One appliance that cannot is a `Conflict` saying why."""
        self._require_member(user)
        if appliance_id is not None:
            view = self._roster.get(appliance_id)
            if view is None:
                raise NotFound(f"appliance {appliance_id}")
            actor = self._find_appliance(appliance_id)
            if actor is None:
                raise Conflict(NOT_CONNECTED)
            if not await actor.call(ApplianceActor.back_up_now):
                raise Conflict(NO_BACKUPS)
            await self._record(user, client, "backup_requested", view.name, "")
            return 1
        asked = 0
        for view in self._roster.values():
            actor = self._find_appliance(view.id)
            if actor is not None and await actor.call(ApplianceActor.back_up_now):
                asked += 1
        await self._record(user, client, "backup_requested", "all appliances", f"{asked} asked")
        return asked

    async def set_backup_settings(
        self, user: User, appliance_id: str, enabled: bool, every_hours: int, client: Client
    ) -> None:
        """Send an appliance the dashboard's backup settings ("Save configuration to MyKerio"
        and its schedule); it applies them and reports them back. Offline, or an appliance
        that does not back up to MyKerio, is a `Conflict` saying so."""
        self._require_member(user)
        view = self._roster.get(appliance_id)
        if view is None:
            raise NotFound(f"appliance {appliance_id}")
        actor = self._find_appliance(appliance_id)
        if actor is None:
            raise Conflict(NOT_CONNECTED_SETTINGS)
        if not await actor.call(ApplianceActor.send_backup_settings, enabled, every_hours):
            raise Conflict(NO_BACKUPS)
        schedule = f"every {every_hours} h" if every_hours else "only when asked"
        detail = f"{'on' if enabled else 'off'}, {schedule}"
        await self._record(user, client, "backup_settings_changed", view.name, detail)

    async def _own_backup(self, backup_id: str) -> Backup:
        backup = await self._store.backups.get(backup_id)
        if backup.org_id != self.org_id:
            # Another organization's backup is as unknown here as one that never existed.
            raise NotFound(f"backup {backup_id}")
        return backup
