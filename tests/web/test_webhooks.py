"""Webhooks end to end against a real HTTP server on loopback: signed posts (Standard
Webhooks), "Send test", an appliance going offline, retries with the delivery log, formats for
Slack and Teams, and URLs to the hub's own network refused (SSRF)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mykerio.clock import FakeClock
from mykerio.webhooks import signing
from mykerio.webhooks.transport import WebhookUnreachable
from tests.api_client import ApiSession
from tests.conftest import api_session, hub_config_for, running_hub
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from tests.web.test_appliances import paired
from tests.webhook_server import LoopbackWebhookServer, Received
from web.hub import Hub
from web.webhook_client import TornadoWebhookTransport

QUICK = {
    "notifications.batch_seconds": 0.2,
    "notifications.webhook_retry_initial": 0.05,
    "notifications.webhook_max_attempts": 4,
}


@pytest.fixture
async def receiver() -> AsyncIterator[LoopbackWebhookServer]:
    server = LoopbackWebhookServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def hub(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> AsyncIterator[Hub]:
    """A hub whose webhooks may post to loopback (the test's receiver), quickly retried."""
    config = hub_config_for(
        tmp_path, smtp_server, sms_gateway, **QUICK, **{"notifications.webhook_allow_private": True}
    )
    async with running_hub(config, clock) as running:
        yield running


async def add_webhook(api: ApiSession, org_id: str, url: str, **extra: Any) -> Any:
    body = {"name": "Ops chat", "url": url, "events": ["status", "notification"], **extra}
    answer = await api.post(f"/api/v1/organizations/{org_id}/webhooks", body)
    assert answer.status == 201, answer
    return answer.json


def verified(request: Received, secret: str) -> bool:
    headers = request.headers
    return signing.verify(
        secret,
        headers["webhook-id"],
        headers["webhook-timestamp"],
        request.body,
        headers["webhook-signature"],
    )


async def log_of(api: ApiSession, org_id: str, webhook_id: str, wanted: str) -> list[Any]:
    """The delivery log once its newest entry has status `wanted`."""
    path = f"/api/v1/organizations/{org_id}/webhooks/{webhook_id}/deliveries"
    async with asyncio.timeout(10):
        while True:
            deliveries: list[Any] = (await api.get(path)).json["deliveries"]
            if deliveries and deliveries[0]["status"] == wanted:
                return deliveries
            await asyncio.sleep(0.02)


async def test_send_test_is_signed_and_logged_and_the_secret_shown_once(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, receiver: LoopbackWebhookServer
) -> None:
    """The secret (whsec_) comes only with the answer to adding; "Send test" posts a JSON body
    whose Webhook-Signature verifies with it; the log shows 200."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    made = await add_webhook(api, org_id, receiver.url)
    secret = made["secret"]
    assert secret.startswith("whsec_")
    listed = (await api.get(f"/api/v1/organizations/{org_id}/webhooks")).json["webhooks"]
    assert [w["name"] for w in listed] == ["Ops chat"]
    assert "secret" not in listed[0]
    webhook_id = made["webhook"]["id"]
    test = await api.post(f"/api/v1/organizations/{org_id}/webhooks/{webhook_id}/test")
    assert test.status == 202, test
    [request] = await receiver.wait_for(1)
    assert verified(request, secret)
    assert not verified(request, signing.new_secret())
    assert request.headers["webhook-id"] == test.json["id"]
    assert request.json["type"] == "webhook.test"
    [logged] = await log_of(api, org_id, webhook_id, "sent")
    assert (logged["response_status"], logged["attempts"], logged["event"]) == (200, 1, "test")
    assert hub.store is not None
    [stored] = await hub.store.webhooks.of_org(org_id)
    assert secret.encode() not in stored.secret, "the secret is sealed in the store"


async def test_an_offline_appliance_is_posted_and_failures_are_retried(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, receiver: LoopbackWebhookServer
) -> None:
    """With no grace, an appliance that hangs up is posted once; the endpoint answering 500
    and 503 first gets it again with the same webhook-id until it answers 200."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    await api.request("PUT", f"/api/v1/organizations/{org_id}/notifications", {"grace_minutes": 0})
    made = await add_webhook(api, org_id, receiver.url)
    receiver.answers = [500, 503]
    appliance, _ = await paired(hub, api, org_id)
    await appliance.status()
    await appliance.hang_up()
    requests = await receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert all(verified(r, made["secret"]) for r in requests)
    [change] = requests[-1].json["changes"]
    assert (change["type"], change["appliance"]) == ("appliance.offline", "Brno gateway")
    [logged] = await log_of(api, org_id, made["webhook"]["id"], "sent")
    assert (logged["attempts"], logged["response_status"]) == (3, 200)


async def test_an_endpoint_that_never_answers_2xx_is_given_up_and_logged(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, free_port: int
) -> None:
    """A closed port is tried the configured number of times, then the log says failed."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    made = await add_webhook(api, org_id, f"http://127.0.0.1:{free_port}/hook")
    await api.post(f"/api/v1/organizations/{org_id}/webhooks/{made['webhook']['id']}/test")
    [logged] = await log_of(api, org_id, made["webhook"]["id"], "failed")
    assert logged["attempts"] == 4
    assert logged["response_status"] == 0
    assert "connect" in logged["last_error"] or "answer" in logged["last_error"]


async def test_slack_and_teams_bodies(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, receiver: LoopbackWebhookServer
) -> None:
    """A Slack webhook gets {"text"}; a Teams one a message with an Adaptive Card."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    slack = await add_webhook(api, org_id, receiver.url, format="slack")
    teams = await add_webhook(api, org_id, receiver.url, format="teams")
    for made in (slack, teams):
        path = f"/api/v1/organizations/{org_id}/webhooks/{made['webhook']['id']}/test"
        await api.post(path)
        await receiver.wait_for(1 if made is slack else 2)
    slack_body, teams_body = (r.json for r in receiver.requests)
    assert "test message from MyKerio" in slack_body["text"]
    [attachment] = teams_body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"


async def test_webhooks_to_the_hubs_own_network_are_refused(
    tmp_path: Path,
    smtp_server: LoopbackSmtp,
    sms_gateway: LoopbackSmsGateway,
    clock: FakeClock,
    receiver: LoopbackWebhookServer,
) -> None:
    """Without `webhook_allow_private`, loopback, private, link-local and `localhost` URLs
    are refused when added, and the transport refuses a name that resolves to loopback."""
    config = hub_config_for(tmp_path, smtp_server, sms_gateway, **QUICK)
    async with running_hub(config, clock) as hub:
        api = api_session(hub)
        org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        for url in (
            receiver.url,
            "http://10.1.2.3/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "http://localhost/hook",
            "ftp://chat.example/hook",
        ):
            body = {"name": "x", "url": url, "events": ["status"]}
            refused = await api.post(f"/api/v1/organizations/{org_id}/webhooks", body)
            assert refused.status == 400, url
        assert receiver.requests == []
    transport = TornadoWebhookTransport(timeout=5, allow_private=False)
    try:
        with pytest.raises(WebhookUnreachable):
            await transport.post(f"http://localhost:{receiver.port}/hook", {}, b"{}")
    finally:
        transport.close()
    assert receiver.requests == []


async def test_only_members_see_an_organizations_webhooks(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, receiver: LoopbackWebhookServer
) -> None:
    """Another organization's webhooks answer 404 (list, add, test, log, delete)."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    made = await add_webhook(api, org_id, receiver.url)
    eve = api_session(hub)
    await member(eve, smtp_server, "eve@evil.example", "Eve")
    base = f"/api/v1/organizations/{org_id}/webhooks"
    one = f"{base}/{made['webhook']['id']}"
    assert (await eve.get(base)).status == 404
    assert (
        await eve.post(base, {"name": "x", "url": receiver.url, "events": ["status"]})
    ).status == 404
    assert (await eve.post(f"{one}/test")).status == 404
    assert (await eve.get(f"{one}/deliveries")).status == 404
    assert (await eve.request("DELETE", one)).status == 404
    assert (await api.request("DELETE", one)).status == 204
