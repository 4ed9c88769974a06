"""The notification repositories, written once for both adapters over an `EventTable`
(`mykerio.store.events`): records with an `id` and a time `at`, added, listed and deleted.

A record is never updated: the notifier adds its new state and deletes the old one, and a
setting set again replaces the one with its id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from mykerio.models import (
    AlertRecord,
    AlertSetting,
    ApplianceNotification,
    Webhook,
    WebhookDelivery,
)
from mykerio.store.base import OperationObserver
from mykerio.store.events import EventTable, Where
from mykerio.store.observed import observed

_PAGE = 1000


class _Record(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def at(self) -> datetime: ...


R = TypeVar("R", bound=_Record)


async def _every(events: EventTable[R], where: Where) -> list[R]:
    """All matching records, oldest first (read page by page)."""
    found: list[R] = []
    before: tuple[datetime, str] | None = None
    while page := await events.page(where, limit=_PAGE, before=before):
        found.extend(page)
        if len(page) < _PAGE:
            break
        last = page[-1]
        before = (last.at, last.id)
    found.reverse()
    return found


class AlertLog:
    """`AlertRepository` on the `alert_records` table."""

    domain = "alerts"

    def __init__(
        self, events: EventTable[AlertRecord], on_operation: OperationObserver | None
    ) -> None:
        self._events = events
        self.on_operation = on_operation

    @observed
    async def add(self, record: AlertRecord) -> AlertRecord:
        """Store a new record; `Conflict` if its id is taken."""
        return await self._events.add(record, f"an alert record with id {record.id}")

    @observed
    async def of_kind(self, kind: str) -> list[AlertRecord]:
        """Every record of this kind, oldest first."""
        return await _every(self._events, Where(equal={"kind": kind}))

    @observed
    async def delete(self, record_ids: Sequence[str]) -> int:
        """Delete these records; return how many there were."""
        if not record_ids:
            return 0
        return await self._events.delete(Where(one_of={"id": tuple(record_ids)}))

    @observed
    async def delete_for_appliance(self, appliance_id: str) -> int:
        """Delete every record about the appliance; return how many."""
        return await self._events.delete(Where(equal={"appliance_id": appliance_id}))


class AlertSettings:
    """`AlertSettingRepository` on the `alert_settings` table."""

    domain = "alert_settings"

    def __init__(
        self, events: EventTable[AlertSetting], on_operation: OperationObserver | None
    ) -> None:
        self._events = events
        self.on_operation = on_operation

    @observed
    async def put(self, setting: AlertSetting) -> AlertSetting:
        """Store the setting, replacing the one with its id (the last writer wins)."""
        await self._events.delete(Where(equal={"id": setting.id}))
        return await self._events.add(setting, f"the setting {setting.name}")

    @observed
    async def for_org(self, org_id: str) -> list[AlertSetting]:
        """Every setting of the organization, oldest first."""
        return await _every(self._events, Where(equal={"org_id": org_id}))

    @observed
    async def remove(self, setting_id: str) -> int:
        """Forget one setting; return 1, or 0 if it was not set."""
        return await self._events.delete(Where(equal={"id": setting_id}))

    @observed
    async def delete_for_org(self, org_id: str) -> int:
        """Delete the organization's settings; return how many."""
        return await self._events.delete(Where(equal={"org_id": org_id}))


class ApplianceNotifications:
    """`ApplianceNotificationRepository` on the `appliance_notifications` table."""

    domain = "appliance_notifications"

    def __init__(
        self, events: EventTable[ApplianceNotification], on_operation: OperationObserver | None
    ) -> None:
        self._events = events
        self.on_operation = on_operation

    @observed
    async def put(self, notification: ApplianceNotification) -> ApplianceNotification:
        """Store the notification, replacing the one with its id."""
        await self._events.delete(Where(equal={"id": notification.id}))
        return await self._events.add(notification, f"the notification {notification.id}")

    @observed
    async def of_appliance(self, appliance_id: str) -> list[ApplianceNotification]:
        """The appliance's notifications, oldest first."""
        return await _every(self._events, Where(equal={"appliance_id": appliance_id}))

    @observed
    async def of_org(self, org_id: str) -> list[ApplianceNotification]:
        """The notifications of the organization's appliances, oldest first."""
        return await _every(self._events, Where(equal={"org_id": org_id}))

    @observed
    async def delete(self, notification_ids: Sequence[str]) -> int:
        """Delete these notifications; return how many there were."""
        if not notification_ids:
            return 0
        return await self._events.delete(Where(one_of={"id": tuple(notification_ids)}))

    @observed
    async def delete_for_appliance(self, appliance_id: str) -> int:
        """Delete the appliance's notifications; return how many."""
        return await self._events.delete(Where(equal={"appliance_id": appliance_id}))


class Webhooks:
    """`WebhookRepository` on the `webhooks` table."""

    domain = "webhooks"

    def __init__(self, events: EventTable[Webhook], on_operation: OperationObserver | None):
        self._events = events
        self.on_operation = on_operation

    @observed
    async def add(self, webhook: Webhook) -> Webhook:
        """Store a new endpoint; `Conflict` if its id is taken."""
        return await self._events.add(webhook, f"a webhook with id {webhook.id}")

    @observed
    async def of_org(self, org_id: str) -> list[Webhook]:
        """The organization's endpoints, oldest first."""
        return await _every(self._events, Where(equal={"org_id": org_id}))

    @observed
    async def delete(self, webhook_id: str) -> int:
        """Delete one endpoint; return 1, or 0 if there was none."""
        return await self._events.delete(Where(equal={"id": webhook_id}))


class WebhookDeliveries:
    """`WebhookDeliveryRepository` on the `webhook_deliveries` table."""

    domain = "webhook_deliveries"

    def __init__(
        self, events: EventTable[WebhookDelivery], on_operation: OperationObserver | None
    ) -> None:
        self._events = events
        self.on_operation = on_operation

    @observed
    async def put(self, delivery: WebhookDelivery) -> WebhookDelivery:
        """Store the delivery, replacing the one with its id."""
        await self._events.delete(Where(equal={"id": delivery.id}))
        return await self._events.add(delivery, f"the delivery {delivery.id}")

    @observed
    async def pending(self) -> list[WebhookDelivery]:
        """Every delivery still to be made, oldest first."""
        return await _every(self._events, Where(equal={"status": "pending"}))

    @observed
    async def of_webhook(self, webhook_id: str, limit: int) -> list[WebhookDelivery]:
        """The endpoint's newest deliveries, newest first."""
        where = Where(equal={"webhook_id": webhook_id})
        return await self._events.page(where, limit=limit, before=None)

    @observed
    async def delete_for_webhook(self, webhook_id: str) -> int:
        """Delete the endpoint's deliveries; return how many."""
        return await self._events.delete(Where(equal={"webhook_id": webhook_id}))
