"""In Chromium: the simulator's notifications listed from the Appliances list (with their age,
dismissed for oneself), and Settings → Notification preferences (email choices, grace and a
maintenance window), with screenshots at 1280 and 375 px under tests/e2e/artifacts/."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from mykerio.agent.backups import BackupOptions
from mykerio.clock import FakeClock
from tests.api_client import ApiSession
from tests.conftest import api_session, hub_config_for, running_hub
from tests.e2e.test_organizations import PASSWORD
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from tests.web.test_backups_upload import Simulated, add_simulator, stop_simulators
from tests.webhook_server import LoopbackWebhookServer
from web.hub import Hub

__all__ = ["stop_simulators"]
SHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"


async def logged_in(hub: Hub, context: BrowserContext) -> Page:
    page = await context.new_page()
    await page.goto(hub.url + "/login")
    await page.get_by_label("Email").fill("ana@acme.example")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()
    return page


@contextlib.asynccontextmanager
async def saving(page: Page, path_part: str) -> AsyncIterator[None]:
    """Wait, after the block, for the page's PUT to a URL with `path_part` to succeed."""
    async with page.expect_response(
        lambda r: path_part in r.url and r.request.method == "PUT"
    ) as answer:
        yield
    assert (await answer.value).ok


async def shoot(page: Page, name: str) -> None:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    for width in (1280, 375):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 720})


async def test_notifications_list_and_dismiss_from_the_appliances_list(
    hub: Hub,
    api: ApiSession,
    page_context: BrowserContext,
    smtp_server: LoopbackSmtp,
    tmp_path: Path,
) -> None:
    """Two knobs on: "2 notifications pending" opens the list (errors first) with severity,
    title and age; Dismiss hides one for Ana; turning a knob off lowers the count."""
    sim: Simulated = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    sim.link.set_knobs({"low_memory": True, "licence_expired": True})
    page = await logged_in(hub, page_context)
    pending = page.get_by_role("button", name="2 notifications pending")
    await expect(pending).to_be_visible()
    await pending.click()
    dialog = page.locator("#notices")
    await expect(dialog.get_by_role("heading")).to_have_text("Notifications of Brno gateway")
    items = dialog.locator("li.notice")
    await expect(items).to_have_count(2)
    # Errors first.
    await expect(items.first).to_contain_text("Expiration of licence")
    await expect(items.first).to_contain_text("Error")
    await expect(items.last).to_contain_text("Low memory")
    await expect(items.last).to_contain_text("Warning")
    await expect(items.first.locator(".age")).to_contain_text("ago")
    await shoot(page, "appliance-notifications")
    await items.first.get_by_role("button", name="Dismiss").click()
    await expect(items).to_have_count(1)
    await expect(dialog.locator("#notices-dismissed")).to_have_text("1 dismissed by you.")
    await dialog.get_by_role("button", name="Close").click()
    sim.link.set_knobs({"licence_expired": False})
    await expect(page.get_by_role("button", name="1 notification pending")).to_be_visible()


async def test_settings_notification_preferences(
    hub: Hub,
    api: ApiSession,
    page_context: BrowserContext,
    smtp_server: LoopbackSmtp,
    tmp_path: Path,
) -> None:
    """Ana sees her organization with the appliance; turning off its online/offline email,
    choosing warnings, a 5-minute grace and a 4-hour maintenance are kept after a reload."""
    sim: Simulated = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    page = await logged_in(hub, page_context)
    await page.goto(hub.url + "/settings")
    card = page.locator("#notification-preferences")
    await expect(card.get_by_role("heading", name="Notification preferences")).to_be_visible()
    row = card.locator("tr[data-scope]", has_text="Brno gateway")
    await expect(row).to_be_visible()
    async with saving(page, "notification-preferences"):
        await row.get_by_label("Online/offline email for Brno gateway").uncheck()
    await expect(page.locator("#messages")).to_contain_text("Saved.")
    await expect(card.locator("section[aria-busy]")).to_have_count(0)
    row = card.locator("tr[data-scope]", has_text="Brno gateway")
    label = "Appliance notifications by email for Brno gateway"
    async with saving(page, "notification-preferences"):
        await row.get_by_label(label).select_option("warning")
    # (A saved choice draws the section again: type into the new one, not the old.)
    await expect(card.locator("section[aria-busy]")).to_have_count(0)
    grace = card.get_by_label("Announce an appliance offline after")
    async with saving(page, "/notifications"):
        await grace.fill("5")
        await grace.dispatch_event("change")
    row = card.locator("tr[data-scope]", has_text="Brno gateway")
    async with saving(page, "/maintenance"):
        await row.get_by_label("Maintenance of Brno gateway").select_option("4")
    row = card.locator("tr[data-scope]", has_text="Brno gateway")
    await expect(row.get_by_label("Maintenance of Brno gateway")).to_contain_text("Until")
    await page.reload()
    row = card.locator("tr[data-scope]", has_text="Brno gateway")
    await expect(row.get_by_label("Online/offline email for Brno gateway")).not_to_be_checked()
    await expect(
        row.get_by_label("Appliance notifications by email for Brno gateway")
    ).to_have_value("warning")
    await expect(card.get_by_label("Announce an appliance offline after")).to_have_value("5")
    await card.scroll_into_view_if_needed()
    await shoot(page, "settings-notification-preferences")
    preferences = await api.get(f"/api/v1/organizations/{sim.org_id}/notification-preferences")
    assert [m["active"] for m in preferences.json["maintenance"]] == [True]


@pytest.fixture
async def webhook_hub(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> AsyncIterator[Hub]:
    """A hub whose webhooks may post to loopback (the test's receiver)."""
    config = hub_config_for(
        tmp_path, smtp_server, sms_gateway, **{"notifications.webhook_allow_private": True}
    )
    async with running_hub(config, clock) as running:
        yield running


async def test_organization_webhooks_add_send_test_and_log(
    webhook_hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp
) -> None:
    """On the Organizations page Ana adds a Slack webhook (the secret is shown once), "Send
    test" reaches the receiver and the row shows the delivery with its status code."""
    receiver = LoopbackWebhookServer()
    try:
        api = api_session(webhook_hub)
        await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        page = await logged_in(webhook_hub, page_context)
        await page.goto(webhook_hub.url + "/organizations")
        section = page.locator("#webhooks")
        form = section.locator("#webhook-form")
        await form.get_by_label("Name").fill("Ops chat")
        await form.get_by_label("URL").fill(receiver.url)
        await form.get_by_label("Format").select_option("slack")
        await form.get_by_role("button", name="Add webhook").click()
        await expect(section.locator("#webhook-secret")).to_contain_text("whsec_")
        row = section.locator("tr[data-webhook]", has_text="Ops chat")
        await expect(row).to_contain_text("Slack")
        await row.get_by_role("button", name="Send test").click()
        [request] = await receiver.wait_for(1)
        assert "test message from MyKerio" in request.json["text"]
        row = section.locator("tr[data-webhook]", has_text="Ops chat")
        await expect(row).to_contain_text("(200)", timeout=10_000)
        await section.scroll_into_view_if_needed()
        await shoot(page, "organization-webhooks")
    finally:
        receiver.stop()
