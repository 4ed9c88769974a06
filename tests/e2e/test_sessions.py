"""Sessions in Chromium: an open dashboard goes to the login page the moment its session ends
elsewhere, and Settings lists the user's sessions and ends any or all of the others."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_accounts import log_in, register_in_browser
from tests.smtp_server import LoopbackSmtp
from web.hub import Hub

# Set MYKERIO_SCREENSHOTS=DIR to keep pictures of the Settings list (1280 and 375 px wide).
SHOTS = os.environ.get("MYKERIO_SCREENSHOTS", "")


async def logged_in_dashboard(hub: Hub, context: BrowserContext) -> Page:
    page = await context.new_page()
    await log_in(hub, page)
    await expect(page.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-live", "open")
    return page


async def test_dashboard_goes_to_login_when_its_session_ends(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp
) -> None:
    """Logging out in another tab closes the open dashboard's live socket and the dashboard
    shows the login page at once, without a click."""
    first = await page_context.new_page()
    await register_in_browser(hub, first, smtp_server)
    dashboard = await logged_in_dashboard(hub, page_context)
    other_tab = await page_context.new_page()
    await other_tab.goto(hub.url + "/settings")
    await other_tab.evaluate(
        """async () => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        await fetch("/api/v1/sessions", {method: "DELETE", headers: {"X-XSRFToken": token}});
    }"""
    )
    await expect(dashboard).to_have_url(f"{hub.url}/login?next=%2F")
    await expect(dashboard.get_by_role("button", name="Log in")).to_be_visible()


async def test_settings_lists_sessions_and_ends_others(
    hub: Hub, browser: Browser, page_context: BrowserContext, smtp_server: LoopbackSmtp
) -> None:
    """Settings shows each session with its device, address and last use, marks this one,
    ends another (whose dashboard goes to login at once) and then all the others."""
    first = await page_context.new_page()
    await register_in_browser(hub, first, smtp_server)
    others: list[BrowserContext] = []
    try:
        dashboards = []
        for agent in (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
        ):
            context = await browser.new_context(ignore_https_errors=True, user_agent=agent)
            others.append(context)
            dashboards.append(await logged_in_dashboard(hub, context))
        await log_in(hub, first)
        await expect(first.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()
        await first.goto(hub.url + "/settings")
        rows = first.locator("#sessions-list li")
        await expect(rows).to_have_count(3)
        await expect(rows.first).to_contain_text("This session")
        await expect(rows.first).to_contain_text("Chrome on Linux")
        await expect(first.locator("#sessions-list")).to_contain_text("Safari on iPhone")
        await expect(first.locator("#sessions-list")).to_contain_text("Firefox on Windows")
        await expect(rows.first).to_contain_text("127.0.0.1 · last active")
        if SHOTS:
            await screenshots(first, Path(SHOTS))

        await first.get_by_role("button", name="End session on Safari on iPhone").click()
        await expect(first.get_by_role("status").filter(has_text="was ended")).to_have_text(
            "The session on Safari on iPhone was ended."
        )
        await expect(rows).to_have_count(2)
        await expect(dashboards[0]).to_have_url(f"{hub.url}/login?next=%2F")

        await first.get_by_role("button", name="End all other sessions").click()
        await expect(first.locator("#sessions-ok")).to_have_text("1 other session was ended.")
        await expect(rows).to_have_count(1)
        await expect(first.get_by_role("button", name="End all other sessions")).to_be_hidden()
        await expect(dashboards[1]).to_have_url(f"{hub.url}/login?next=%2F")
    finally:
        for context in others:
            await context.close()


async def screenshots(page: Page, folder: Path) -> None:
    """The Sessions card at desktop and phone widths."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    section = page.locator("#sessions-section")
    for width in (1280, 375):
        await page.set_viewport_size({"width": width, "height": 900})
        await section.scroll_into_view_if_needed()
        await page.screenshot(path=str(folder / f"settings-sessions-{width}.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 720})
