"""The store's interface for notifications: what the notifier remembers and the settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mykerio.models import (
    AlertRecord,
    AlertSetting,
    ApplianceNotification,
    Webhook,
    WebhookDelivery,
)


class AlertRepository(Protocol):
    """The notifier's memory (`AlertRecord`): grace periods running, lines waiting for their
    email, and what each person was last told about each appliance."""

    async def add(self, record: AlertRecord) -> AlertRecord:
        """Store a new record; `Conflict` if its id is taken."""
        ...

    async def of_kind(self, kind: str) -> list[AlertRecord]:
        """Every record of this kind, oldest first."""
        ...

    async def delete(self, record_ids: Sequence[str]) -> int:
        """Delete these records; return how many there were."""
        ...

    async def delete_for_appliance(self, appliance_id: str) -> int:
        """Delete every record about the appliance (it was removed); return how many."""
        ...


class AlertSettingRepository(Protocol):
    """Notification settings of organizations, appliances and people."""

    async def put(self, setting: AlertSetting) -> AlertSetting:
        """Store the setting, replacing the one with its id."""
        ...

    async def for_org(self, org_id: str) -> list[AlertSetting]:
        """Every setting of the organization (its own, its appliances', its members')."""
        ...

    async def remove(self, setting_id: str) -> int:
        """Forget one setting (back to its default); return 1, or 0 if it was not set."""
        ...

    async def delete_for_org(self, org_id: str) -> int:
        """Delete the organization's settings; return how many."""
        ...


class ApplianceNotificationRepository(Protocol):
    """The notifications appliances reported and have not cleared."""

    async def put(self, notification: ApplianceNotification) -> ApplianceNotification:
        """Store the notification, replacing the one with its id."""
        ...

    async def of_appliance(self, appliance_id: str) -> list[ApplianceNotification]:
        """The appliance's notifications, oldest first."""
        ...

    async def of_org(self, org_id: str) -> list[ApplianceNotification]:
        """The notifications of the organization's appliances, oldest first."""
        ...

    async def delete(self, notification_ids: Sequence[str]) -> int:
        """Delete these notifications; return how many there were."""
        ...

    async def delete_for_appliance(self, appliance_id: str) -> int:
        """Delete the appliance's notifications; return how many."""
        ...


class WebhookRepository(Protocol):
    """Organizations' webhook endpoints."""

    async def add(self, webhook: Webhook) -> Webhook:
        """Store a new endpoint; `Conflict` if its id is taken."""
        ...

    async def of_org(self, org_id: str) -> list[Webhook]:
        """The organization's endpoints, oldest first."""
        ...

    async def delete(self, webhook_id: str) -> int:
        """Delete one endpoint; return 1, or 0 if there was none."""
        ...


class WebhookDeliveryRepository(Protocol):
    """Webhook posts: the persisted outbox and the delivery log."""

    async def put(self, delivery: WebhookDelivery) -> WebhookDelivery:
        """Store the delivery, replacing the one with its id."""
        ...

    async def pending(self) -> list[WebhookDelivery]:
        """Every delivery still to be made, oldest first."""
        ...

    async def of_webhook(self, webhook_id: str, limit: int) -> list[WebhookDelivery]:
        """The endpoint's newest deliveries, newest first."""
        ...

    async def delete_for_webhook(self, webhook_id: str) -> int:
        """Delete the endpoint's deliveries; return how many."""
        ...
