"""Web Push end to end: a browser-like subscriber on a local push service that checks the
VAPID token and decrypts each push; "Notify this device", a test push, an appliance offline
pushed like its email, 410 dropping the subscription, the VAPID key file (0600)."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mykerio.clock import FakeClock
from tests.api_client import ApiSession
from tests.conftest import api_session, hub_config_for, running_hub
from tests.push_service import LoopbackPushService
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from tests.web.test_appliances import paired
from web.hub import Hub

SUBSCRIPTIONS = "/api/v1/me/push-subscriptions"


@pytest.fixture
async def push_service() -> AsyncIterator[LoopbackPushService]:
    service = LoopbackPushService()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
async def hub(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> AsyncIterator[Hub]:
    """A hub that may push to loopback (the test's push service), batching briefly."""
    config = hub_config_for(
        tmp_path,
        smtp_server,
        sms_gateway,
        **{"notifications.push_allow_private": True, "notifications.batch_seconds": 0.2},
    )
    async with running_hub(config, clock) as running:
        yield running


async def test_notify_this_device_then_a_test_push_and_an_offline_appliance(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, push_service: LoopbackPushService
) -> None:
    """The subscription is kept; a test push arrives signed with the hub's VAPID key (the
    audience is the push service's origin) and decrypts for the browser; an appliance that
    goes offline is pushed with its email's title."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    browser = push_service.browser("phone")
    subscribed = await api.post(SUBSCRIPTIONS, push_service.subscription(browser))
    assert subscribed.status == 201, subscribed
    assert subscribed.json["devices"] == 1
    key = (await api.get("/api/v1/push/key")).json["public_key"]
    tested = await api.post(f"{SUBSCRIPTIONS}/test")
    assert tested.json["sent"] == 1
    [push] = await push_service.wait_for(1)
    assert push.payload["title"] == "MyKerio"
    assert push.vapid_key == key
    assert push.claims["aud"] == f"http://127.0.0.1:{push_service.port}"
    assert push.claims["sub"].startswith("mailto:")
    assert int(push.ttl) > 0

    await api.request("PUT", f"/api/v1/organizations/{org_id}/notifications", {"grace_minutes": 0})
    appliance, _ = await paired(hub, api, org_id)
    await appliance.status()
    await appliance.hang_up()
    pushes = await push_service.wait_for(2)
    assert pushes[1].payload["title"] == "Brno gateway is offline"
    assert "offline since" in pushes[1].payload["body"]
    await smtp_server.find("ana@acme.example", "Brno gateway is offline")


async def test_a_gone_subscription_is_dropped_and_another_persons_is_untouched(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, push_service: LoopbackPushService
) -> None:
    """A push service answering 410 drops that subscription; unsubscribing is per person."""
    await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    phone, laptop = push_service.browser("phone"), push_service.browser("laptop")
    await api.post(SUBSCRIPTIONS, push_service.subscription(phone))
    await api.post(SUBSCRIPTIONS, push_service.subscription(laptop))
    phone.gone = True
    tested = await api.post(f"{SUBSCRIPTIONS}/test")
    assert (tested.json["sent"], tested.json["dropped"], tested.json["devices"]) == (1, 1, 1)
    eve = api_session(hub)
    await member(eve, smtp_server, "eve@evil.example", "Eve")
    left = await eve.post(f"{SUBSCRIPTIONS}/remove", {"endpoint": push_service.endpoint(laptop)})
    assert left.json["devices"] == 0
    assert (await api.get(SUBSCRIPTIONS)).json["devices"] == 1
    removed = await api.post(f"{SUBSCRIPTIONS}/remove", {"endpoint": push_service.endpoint(laptop)})
    assert removed.json["devices"] == 0


async def test_vapid_key_file_manifest_and_worker_and_private_endpoints_refused(
    tmp_path: Path,
    smtp_server: LoopbackSmtp,
    sms_gateway: LoopbackSmsGateway,
    clock: FakeClock,
    push_service: LoopbackPushService,
) -> None:
    """The VAPID key is made at first start, 0600; the manifest and the worker are served;
    a hub that does not allow private endpoints refuses a loopback one and bad keys."""
    config = hub_config_for(tmp_path, smtp_server, sms_gateway)
    async with running_hub(config, clock) as hub:
        key_file = hub.config.data_dir / "vapid.pem"
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        api = api_session(hub)
        await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        manifest = await api.get("/manifest.webmanifest")
        assert manifest.status == 200
        assert manifest.json["start_url"] == "/"
        worker = await api.get("/sw.js")
        assert worker.status == 200
        browser = push_service.browser("phone")
        refused = await api.post(SUBSCRIPTIONS, push_service.subscription(browser))
        assert refused.status == 400
        bad = push_service.subscription(browser)
        bad["endpoint"] = "https://push.example/x"
        bad["keys"]["auth"] = "AAAA"
        assert (await api.post(SUBSCRIPTIONS, bad)).status == 400
        before = key_file.read_bytes()
    async with running_hub(config, clock) as again:
        assert (again.config.data_dir / "vapid.pem").read_bytes() == before, "kept"
