"""In Chromium: the Notification relay page shows an appliance's window (n / 100), refusals
and blacklisted recipient; the operators' blacklist page removes an entry, and a member of an
organization gets 404 there. Screenshots of both pages at 1280 and 375 px go to
tests/e2e/artifacts/screenshots/."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from mykerio.clock import FakeClock
from tests.conftest import api_session, hub_config_for, running_hub
from tests.e2e.test_organizations import PASSWORD, register_and_log_in
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.test_relay import blacklisted, linked_simulator, stop_simulators
from web.hub import Hub

__all__ = ["stop_simulators"]

SHOTS = Path(__file__).parent / "artifacts" / "screenshots"
OPERATOR = "olga@hub.example"


@pytest.fixture
async def hub(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> AsyncIterator[Hub]:
    """A hub whose operator is Olga."""
    config = hub_config_for(tmp_path, smtp_server, sms_gateway, **{"hub.operators": OPERATOR})
    async with running_hub(config, clock) as running:
        yield running


async def screenshots(page: Page, name: str) -> None:
    """The page at desktop and phone widths."""
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    for width in (1280, 375):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 720})


async def log_in(page: Page, hub: Hub, email: str) -> None:
    await page.goto(hub.url + "/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()


async def test_relay_page_and_the_operators_blacklist(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Ana sees her gateway's 2 / 100, its refusals and the bounced recipient with its release
    time, and gets 404 on the operators' page; Olga, the operator, removes the entry."""
    api = api_session(hub)
    smtp_server.refusals["gone@example.com"] = "550 5.1.1 <gone@example.com>: user unknown"
    link = await linked_simulator(hub, api, smtp_server, tmp_path)
    await link.relay.send(("gone@example.com", "ana@example.com"), "Alert", "Low memory\n")
    await blacklisted(hub, "gone@example.com")
    await link.relay.send(("gone@example.com", "asmith@example.local"), "Alert", "x\n")

    page = await page_context.new_page()
    await log_in(page, hub, "ana@acme.example")
    await page.get_by_role("link", name="Notification relay").click()
    row = page.locator("#relay-rows tr", has_text="Brno gateway")
    await expect(row).to_be_visible()
    await expect(row.locator(".relay-sent")).to_have_text("2 / 100")
    await expect(row).to_contain_text("1 blacklisted recipient, 1 address not valid")
    await expect(row).to_contain_text("gone@example.com (until")
    await screenshots(page, "relay")

    answer = await page.goto(hub.url + "/operator/relay")
    assert answer is not None
    assert answer.status == 404

    await page_context.clear_cookies()
    await register_and_log_in(hub, page, smtp_server, "Olga Operator", OPERATOR)
    await page.goto(hub.url + "/operator/relay")
    entry = page.locator("#blacklist-rows tr", has_text="gone@example.com")
    await expect(entry).to_contain_text("550 5.1.1")
    await screenshots(page, "relay-operator")
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await entry.get_by_role("button", name="Remove").click()
    await expect(page.locator("#messages")).to_contain_text("gone@example.com was removed")
    await expect(page.locator("#blacklist-empty")).to_be_visible()
