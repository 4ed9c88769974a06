"""The notification repositories' contract: the notifier's records and the settings.

Runs against SQLite and MongoDB.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from mykerio.errors import Conflict
from mykerio.models import (
    AlertSetting,
    ApplianceNotification,
    Webhook,
    WebhookDelivery,
    alert_setting_id,
)
from mykerio.store import Store
from tests.store.factories import T0, make_alert_record


async def test_records_are_listed_by_kind_oldest_first_and_deleted(store: Store) -> None:
    """Records come back by kind in time order; deleting by id or by appliance removes them."""
    later = await store.alerts.add(make_alert_record(at=T0 + timedelta(seconds=5)))
    earlier = await store.alerts.add(make_alert_record(at=T0))
    grace = await store.alerts.add(make_alert_record("grace", appliance_id="a2", user_id=""))
    with pytest.raises(Conflict):
        await store.alerts.add(dataclasses.replace(earlier, kind="floor"))
    assert await store.alerts.of_kind("queued") == [earlier, later]
    assert await store.alerts.of_kind("grace") == [grace]
    assert await store.alerts.delete([earlier.id, "missing"]) == 1
    assert await store.alerts.delete([]) == 0
    assert await store.alerts.of_kind("queued") == [later]
    assert await store.alerts.delete_for_appliance("a2") == 1
    assert await store.alerts.of_kind("grace") == []


async def test_more_records_than_a_page_are_all_listed(store: Store) -> None:
    """A site outage leaves thousands of records; every one is read back, in order."""
    added = [
        await store.alerts.add(make_alert_record(at=T0 + timedelta(milliseconds=i)))
        for i in range(1005)
    ]
    assert await store.alerts.of_kind("queued") == added


async def test_a_setting_set_again_replaces_the_first(store: Store) -> None:
    """`put` keeps one value per setting id; `remove` goes back to none."""
    setting_id = alert_setting_id("org1", "", "", "grace_seconds")
    first = AlertSetting(setting_id, T0, "org1", "", "", "grace_seconds", "60")
    await store.alert_settings.put(first)
    second = dataclasses.replace(first, at=T0 + timedelta(seconds=1), value="300")
    await store.alert_settings.put(second)
    other = AlertSetting("org2:::grace_seconds", T0, "org2", "", "", "grace_seconds", "0")
    await store.alert_settings.put(other)
    assert await store.alert_settings.for_org("org1") == [second]
    assert await store.alert_settings.remove(setting_id) == 1
    assert await store.alert_settings.remove(setting_id) == 0
    assert await store.alert_settings.delete_for_org("org2") == 1
    assert await store.alert_settings.for_org("org2") == []


async def test_appliance_notifications_are_replaced_by_id_and_listed(store: Store) -> None:
    """A notification raised again replaces itself; lists are per appliance and per org."""
    first = ApplianceNotification(
        "a1:n1", T0, "org1", "a1", "n1", "low_memory", "warning", "Low memory", T0
    )
    await store.appliance_notifications.put(first)
    again = dataclasses.replace(first, severity="error", text="Very low memory")
    await store.appliance_notifications.put(again)
    other = dataclasses.replace(first, id="a2:n1", appliance_id="a2", at=T0 + timedelta(seconds=1))
    await store.appliance_notifications.put(other)
    assert await store.appliance_notifications.of_appliance("a1") == [again]
    assert await store.appliance_notifications.of_org("org1") == [again, other]
    assert await store.appliance_notifications.delete(["a1:n1"]) == 1
    assert await store.appliance_notifications.delete_for_appliance("a2") == 1
    assert await store.appliance_notifications.of_org("org1") == []


async def test_webhooks_and_their_deliveries(store: Store) -> None:
    """Endpoints are listed per organization; deliveries replace themselves by id, pending
    ones are found after a restart, and the log is newest first."""
    hook = Webhook(
        "w1", T0, "org1", "Ops", "https://chat.example/h", "json", ("status",), "error", b"s", "a"
    )
    await store.webhooks.add(hook)
    assert await store.webhooks.of_org("org1") == [hook]
    first = WebhookDelivery("d1", T0, "org1", "w1", "status", "{}", "pending", 0, T0, 0, "", None)
    await store.webhook_deliveries.put(first)
    later = dataclasses.replace(first, id="d2", at=T0 + timedelta(seconds=1))
    await store.webhook_deliveries.put(later)
    sent = dataclasses.replace(first, status="sent", attempts=1, response_status=200, done_at=T0)
    await store.webhook_deliveries.put(sent)
    assert await store.webhook_deliveries.pending() == [later]
    assert await store.webhook_deliveries.of_webhook("w1", 10) == [later, sent]
    assert await store.webhook_deliveries.delete_for_webhook("w1") == 2
    assert await store.webhooks.delete("w1") == 1
    assert await store.webhooks.of_org("org1") == []
