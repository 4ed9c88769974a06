"""The appliances' notifications as the hub keeps them (docs/protocol.md 9.10), and who
dismissed which for themselves.

`NoticeBook` applies what an appliance raises and clears to the store and tells which raise is
news (a new notification, or one whose severity rose): only news is announced. A dismissal is
one person's (an `AlertRecord` of kind `dismissed`); it ends with the notification.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from mykerio.clock import Clock
from mykerio.errors import NotFound
from mykerio.models import AlertRecord, Appliance, ApplianceNotification, new_id
from mykerio.protocol.notifications import TYPES, Cleared, Notice
from mykerio.store.base import Store

DISMISSED = "dismissed"


@dataclasses.dataclass(frozen=True, slots=True)
class NoticeView:
    """One notification as a member sees it."""

    id: str
    appliance_id: str
    type: str
    title: str  # the type in words ("Low memory")
    severity: str
    text: str
    raised_at: datetime
    dismissed: bool


def view_of(notification: ApplianceNotification, dismissed: bool) -> NoticeView:
    """The member's view of a stored notification."""
    return NoticeView(
        id=notification.id,
        appliance_id=notification.appliance_id,
        type=notification.type,
        title=TYPES.get(notification.type, notification.type),
        severity=notification.severity,
        text=notification.text,
        raised_at=notification.raised_at,
        dismissed=dismissed,
    )


class NoticeBook:
    """The stored notifications and dismissals (used by one actor, so no locks)."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._dismissed: dict[str, dict[str, AlertRecord]] = {}  # user → notification → record

    async def load(self) -> None:
        """Read the dismissals (once, at start)."""
        for record in await self._store.alerts.of_kind(DISMISSED):
            self._dismissed.setdefault(record.user_id, {})[record.change] = record

    async def apply(
        self, appliance: Appliance, change: Notice | Cleared
    ) -> ApplianceNotification | None:
        """Store what the appliance raised or cleared; the notification if it is news."""
        repository = self._store.appliance_notifications
        if isinstance(change, Cleared):
            held = await repository.of_appliance(appliance.id)
            keep = set(change.keep)
            gone = [
                one.id
                for one in held
                if (one.notice_id == change.notice_id)
                or (change.notice_id is None and one.notice_id not in keep)
            ]
            await repository.delete(gone)
            await self._undismiss(gone)
            return None
        notification_id = f"{appliance.id}:{change.notice_id}"
        held = await repository.of_appliance(appliance.id)
        before = next((one for one in held if one.id == notification_id), None)
        notification = ApplianceNotification(
            id=notification_id,
            at=before.at if before is not None else self._clock.now(),
            org_id=appliance.org_id,
            appliance_id=appliance.id,
            notice_id=change.notice_id,
            type=change.type,
            severity=change.severity,
            text=change.text,
            raised_at=change.raised_at,
        )
        if before == notification:
            return None  # raised again on a new link: nothing changed
        await repository.put(notification)
        if before is not None and not (before.severity == "warning" and change.severity == "error"):
            return None  # an update of one already announced
        return notification

    async def of_org(self, user_id: str, org_id: str) -> list[NoticeView]:
        """The organization's notifications, oldest first, each marked if `user_id` dismissed
        it."""
        mine = self._dismissed.get(user_id, {})
        found = await self._store.appliance_notifications.of_org(org_id)
        return [view_of(one, one.id in mine) for one in found]

    async def dismiss(self, user_id: str, org_id: str, notification_id: str) -> None:
        """`user_id` no longer wants to see the notification (others still do)."""
        found = await self._store.appliance_notifications.of_org(org_id)
        notification = next((one for one in found if one.id == notification_id), None)
        if notification is None:
            raise NotFound(f"notification {notification_id}")
        mine = self._dismissed.setdefault(user_id, {})
        if notification_id in mine:
            return
        record = AlertRecord(
            id=new_id(),
            at=self._clock.now(),
            kind=DISMISSED,
            org_id=org_id,
            appliance_id=notification.appliance_id,
            user_id=user_id,
            appliance_name="",
            change=notification_id,
            changed_at=self._clock.now(),
            repeats=0,
            told_down=False,
        )
        await self._store.alerts.add(record)
        mine[notification_id] = record

    def dismissed_by(self, user_id: str) -> frozenset[str]:
        """The notification ids `user_id` dismissed."""
        return frozenset(self._dismissed.get(user_id, {}))

    async def forget_appliance(self, appliance_id: str) -> None:
        """A removed appliance's notifications go (its dismissals with the notifier's records)."""
        await self._store.appliance_notifications.delete_for_appliance(appliance_id)
        for mine in self._dismissed.values():
            for notification_id in [k for k, v in mine.items() if v.appliance_id == appliance_id]:
                del mine[notification_id]

    async def _undismiss(self, notification_ids: Sequence[str]) -> None:
        ended = set(notification_ids)
        records = []
        for mine in self._dismissed.values():
            for notification_id in [k for k in mine if k in ended]:
                records.append(mine.pop(notification_id).id)
        await self._store.alerts.delete(records)
