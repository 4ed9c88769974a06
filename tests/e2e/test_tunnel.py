"""In Chromium: "Open administration" opens the simulator's own administration in a new tab
through the hub, signed in as "<name> via MyKerio", with the hub's banner; its pages, form,
WebSocket and 50 MB download work; Statistics is refused; the return arrow leads back; and a
page on the tunnel origin can read none of the hub's cookies nor act on its API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from mykerio.agent.link import ApplianceLink
from tests.api_client import ApiSession
from tests.e2e.test_organizations import PASSWORD
from tests.e2e.test_shell import SHOTS
from tests.smtp_server import LoopbackSmtp
from tests.web.test_tunnel import linked_appliance
from tests.web.test_tunnel_security import refusing_appliance
from web.hub import Hub


@pytest.fixture
async def opened(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> AsyncIterator[tuple[ApplianceLink, str, str]]:
    """A linked simulator in Ana's organization: (link, org id, appliance id)."""
    async with linked_appliance(hub, api, smtp_server, tmp_path) as linked:
        yield linked


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A context that ignores pages' own CSP, so that the hub's defences are what is tested
    (a hostile appliance would not restrict its own pages)."""
    made = await browser.new_context(ignore_https_errors=True, bypass_csp=True)
    errors: list[str] = []
    made.on("page", lambda page: page.on("pageerror", lambda e: errors.append(str(e))))
    try:
        yield made
    finally:
        await made.close()
    assert errors == [], errors


async def log_in_as_ana(hub: Hub, page: Page) -> None:
    await page.goto(hub.url + "/login")
    await page.get_by_label("Email").fill("ana@acme.example")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Appliances")).to_be_visible()


async def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 375):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 800})


async def test_open_administration_navigate_websocket_download_and_return(
    hub: Hub, api: ApiSession, context: BrowserContext, opened: tuple[ApplianceLink, str, str]
) -> None:
    """Click, use the appliance's pages, its WebSocket and its download, then go back."""
    link, _, _ = opened
    page = await context.new_page()
    await log_in_as_ana(hub, page)
    row = page.locator("tr.appliance", has_text="Brno gateway")
    button = row.get_by_role("button", name="Open administration")
    await expect(button).to_be_visible()
    await shoot(page, "dashboard-open-administration")
    async with context.expect_page() as opening:
        await button.click()
    tab = await opening.value
    assert hub.tunnel is not None
    # (The tab opens blank at the click, then goes through the ticket; the ticket leaves the
    # address bar.)
    await tab.wait_for_url(hub.tunnel.public_url + "/admin/")
    await expect(tab.locator("#who")).to_have_text("Ana Novak via MyKerio")
    await expect(tab.locator("#mykerio-banner")).to_contain_text("Brno gateway")
    await shoot(tab, "tunnel-console")

    await tab.get_by_role("button", name="Test the live connection").click()
    await expect(tab.locator("#ws-log li")).to_have_text(["hello Ana Novak via MyKerio", "ping"])

    await tab.get_by_role("link", name="Icons").click()
    await expect(tab.locator(".icons img")).to_have_count(50)
    await tab.wait_for_load_state("load")
    loaded = await tab.evaluate(
        "[...document.querySelectorAll('.icons img')].every((img) => img.naturalWidth > 0)"
    )
    assert loaded

    await tab.get_by_role("link", name="Settings").click()
    await tab.get_by_label("Host name").fill("gw-brno-2")
    await tab.get_by_role("button", name="Apply").click()
    await expect(tab.locator("#saved")).to_have_text("Saved: the host name is gw-brno-2.")
    await tab.get_by_role("link", name="Audit log").click()
    await expect(tab.locator("table")).to_contain_text("Ana Novak via MyKerio")

    async with tab.expect_download() as waiting:
        await tab.get_by_role("link", name="Download 50 MB").click()
    download = await waiting.value
    saved = await download.path()
    assert (await asyncio.to_thread(Path(saved).stat)).st_size == 50 * 1024 * 1024

    await tab.get_by_role("link", name="Statistics").click()
    await expect(tab.locator("#tunnel-message")).to_contain_text("Statistics cannot be opened")
    await shoot(tab, "tunnel-statistics-refused")

    await tab.locator("#mykerio-return").click()
    await expect(tab.get_by_role("heading", name="Appliances")).to_be_visible()
    assert link.view.phase == "linked"


async def test_a_tunnelled_page_can_neither_read_hub_cookies_nor_use_the_hub_api(
    hub: Hub, api: ApiSession, context: BrowserContext, opened: tuple[ApplianceLink, str, str]
) -> None:
    """On the tunnel origin a script sees no cookie, cannot read the hub's API, and its
    credentialed cross-origin POST to the hub changes nothing."""
    _, org_id, _ = opened
    page = await context.new_page()
    await log_in_as_ana(hub, page)
    async with context.expect_page() as opening:
        await page.locator("tr.appliance").get_by_role("button", name="Open administration").click()
    tab = await opening.value
    await expect(tab.locator("#who")).to_have_text("Ana Novak via MyKerio")
    assert await tab.evaluate("document.cookie") == ""
    read = await tab.evaluate(
        """(hub) => fetch(hub + "/api/v1/organizations", {credentials: "include"})
             .then((r) => "read " + r.status).catch(() => "blocked")""",
        hub.url,
    )
    assert read == "blocked"
    await tab.evaluate(
        """(hub) => fetch(hub + "/api/v1/organizations", {method: "POST", mode: "no-cors",
             credentials: "include", headers: {"Content-Type": "text/plain"},
             body: JSON.stringify({name: "Evil"})}).catch(() => null)""",
        hub.url,
    )
    listed = await api.get("/api/v1/organizations")
    assert "Evil" not in listed.raw.decode()
    assert org_id in listed.raw.decode()


async def test_the_button_says_when_the_appliance_refuses_remote_administration(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path, context: BrowserContext
) -> None:
    """An appliance started with --no-remote-admin shows "Remote administration off" instead
    of an Open administration button."""
    async with refusing_appliance(hub, api, smtp_server, tmp_path):
        page = await context.new_page()
        await log_in_as_ana(hub, page)
        row = page.locator("tr.appliance", has_text="Locked gateway")
        button = row.locator('[data-action="administration"]')
        await expect(button).to_have_text("Remote administration off")
        await expect(button).to_be_disabled()
