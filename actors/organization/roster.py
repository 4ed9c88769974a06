"""The appliance part of an organization's actor: its roster of appliances and their history.

The roster is the organization's appliances as the dashboard shows them (`ApplianceView`s),
kept current by the appliance actors' reports; adding, renaming and removing go through here
so that the store, the roster, the activity log and the bus agree.
"""

from __future__ import annotations

from datetime import datetime

from actors.appliance import ApplianceActor
from actors.organization.core import OrganizationCore
from mykerio.accounts.context import Client
from mykerio.appliances.view import ApplianceView
from mykerio.errors import NotFound
from mykerio.models import ActivityEvent, Appliance, StatusChange, User, new_id
from mykerio.organizations.events import ApplianceAdded, ApplianceChanged, ApplianceRemoved


class RosterPart(OrganizationCore):
    """The organization's appliances: added, renamed, removed, reported and their history."""

    def appliances(self, user: User) -> list[ApplianceView]:
        """The organization's appliances, by name."""
        self._require_member(user)
        return self._roster.ordered()

    def appliance_list(self, user: User) -> bytes:
        """The organization's appliances by name, as the JSON array the API answers (encoded
        once per change, not per request: the dashboard reads it far more often)."""
        self._require_member(user)
        return self._roster.json_array()

    def appliance_document(self, user: User, gzipped: bool) -> bytes:
        """`{"appliances": [...]}` as the API answers it, gzip-compressed if asked; both forms
        made once per change and shared by every reader."""
        self._require_member(user)
        return self._roster.document(gzipped)

    async def add_appliance(
        self, user: User, code: str, name: str, client: Client
    ) -> ApplianceView:
        """Add the appliance of a pairing code; its waiting socket is told to welcome it."""
        org = self._require_member(user)
        appliance = await self._appliances.add_by_code(org.id, code, name, user.id)
        return await self._added(user, client, appliance, appliance.product)

    async def add_box(
        self,
        user: User,
        serial: str,
        public_key: bytes,
        facts: tuple[str, str, str],
        name: str,
        client: Client,
    ) -> ApplianceView:
        """Reserve a Kerio Control box set up by serial (`facts`: product, version, IP)."""
        org = self._require_member(user)
        product, version, ip = facts
        appliance = await self._appliances.add_box(
            org.id,
            serial=serial,
            public_key=public_key,
            product=product,
            version=version,
            ip=ip,
            name=name,
        )
        return await self._added(user, client, appliance, f"{product} {serial}")

    async def rename_appliance(
        self, user: User, appliance_id: str, name: str, client: Client
    ) -> ApplianceView:
        """Rename an appliance here and on the appliance itself."""
        self._require_appliance(user, appliance_id)
        view = ApplianceView.of(await self._appliances.rename(appliance_id, name))
        self._roster[view.id] = view
        appliance = self._find_appliance(appliance_id)
        if appliance is not None:
            appliance.tell(ApplianceActor.rename, view.name)
        await self._record(user, client, "appliance_renamed", view.name, "")
        self._bus.publish(ApplianceChanged(self.org_id, tuple(self._members), view))
        return view

    async def remove_appliance(self, user: User, appliance_id: str, client: Client) -> None:
        """Remove an appliance: its key is revoked and its socket closed."""
        view = self._require_appliance(user, appliance_id)
        await self._forget(appliance_id)
        appliance = self._find_appliance(appliance_id)
        if appliance is not None:
            appliance.tell(ApplianceActor.remove)
        await self._record(user, client, "appliance_removed", view.name, "")

    async def appliance_history(
        self, user: User, appliance_id: str, limit: int, before: tuple[datetime, str] | None
    ) -> list[StatusChange]:
        """An appliance's status changes, newest first, for a member."""
        self._require_appliance(user, appliance_id)
        return await self._store.status_history.for_appliance(
            appliance_id, limit=limit, before=before
        )

    async def removed_by_appliance(self, appliance_id: str) -> None:
        """The appliance's own "Remove from MyKerio" (told by its actor)."""
        if appliance_id in self._roster:
            await self._forget(appliance_id)

    def appliance_changed(self, view: ApplianceView) -> None:
        """An appliance actor reports a new status (told upward; never asked)."""
        if view.id not in self._roster:
            return
        self._roster[view.id] = view
        self._bus.publish(ApplianceChanged(self.org_id, tuple(self._members), view))

    async def appliance_connection_replaced(
        self, appliance_id: str, older_ip: str, newer_ip: str
    ) -> None:
        """A second socket with an appliance's key replaced its first (told by the hub): the
        activity log records it with both addresses (by the appliance, not by a member)."""
        view = self._roster.get(appliance_id)
        if view is None:
            return
        older = older_ip or "an unknown address"
        await self._store.activity.add(
            ActivityEvent(
                id=new_id(),
                org_id=self.org_id,
                actor_id="",
                actor_email="",
                at=self._clock.now(),
                ip=newer_ip,
                action="appliance_connection_replaced",
                target=view.name,
                detail=f"the connection from {older} was replaced by one from {newer_ip}",
            )
        )

    async def _added(
        self, user: User, client: Client, appliance: Appliance, detail: str
    ) -> ApplianceView:
        """Roster, activity log and event of a newly added appliance (its waiting socket, if
        any, is welcomed by whoever listens for `ApplianceAdded`)."""
        view = ApplianceView.of(appliance)
        self._roster[view.id] = view
        await self._record(user, client, "appliance_added", view.name, detail)
        self._bus.publish(
            ApplianceAdded(self.org_id, tuple(self._members), view, appliance.public_key or b"")
        )
        return view

    def _require_appliance(self, user: User, appliance_id: str) -> ApplianceView:
        self._require_member(user)
        view = self._roster.get(appliance_id)
        if view is None:
            raise NotFound(f"appliance {appliance_id}")
        return view

    async def _forget(self, appliance_id: str) -> None:
        await self._appliances.remove(appliance_id)
        view = self._roster.pop(appliance_id)
        self._bus.publish(ApplianceRemoved(self.org_id, tuple(self._members), view))
