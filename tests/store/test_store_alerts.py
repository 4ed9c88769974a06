"""The notification repositories' contract: the notifier's records and the settings.

Runs against SQLite and MongoDB.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from mykerio.errors import Conflict
from mykerio.models import AlertSetting, alert_setting_id
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
