"""The dashboard shell in Chromium: every page at 1280, 768 and 375 px wide passes axe-core
(vendored in tests/e2e/vendor) with no serious or critical violation, scrolls no sideways, and is
saved as a screenshot under tests/e2e/artifacts/; the Appliances list of all organizations
(grouped, counted, in words, filtered, searched, sorted, live in place); and the main flow with
the keyboard only."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from mykerio.appliances.view import ApplianceView
from mykerio.clock import FakeClock
from mykerio.organizations.events import ApplianceChanged
from tests.e2e.test_organizations import PASSWORD, register_and_log_in
from tests.fleet import BRANCH, KERIO, seed_organization
from tests.smtp_server import LoopbackSmtp
from web.hub import Hub

HERE = Path(__file__).parent
AXE = HERE / "vendor" / "axe.min.js"
SHOTS = HERE / "artifacts" / "screenshots"
EMAIL = "ana@acme.example"
WIDTHS = {1280: 900, 768: 1024, 375: 812}
SIGNED_OUT = {
    "login": "/login",
    "register": "/register",
    "forgot": "/forgot",
    "reset": "/reset",
    "confirm": "/confirm",
    "invitation": "/invitations/accept",
}
SIGNED_IN = {
    "appliances": "/",
    "organizations": "/organizations",
    "settings": "/settings",
    "audit": "/audit",
    "backups": "/backups",
    "ip-addresses": "/definitions/ip-addresses",
    "url-groups": "/definitions/url-groups",
    "time-ranges": "/definitions/time-ranges",
    "add-box": "/appliances/add-box",
    "add-link": "/appliances/add",
}


@pytest.fixture
async def audit_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A context that may inject axe-core (the hub's CSP allows only its own scripts)."""
    context = await browser.new_context(ignore_https_errors=True, bypass_csp=True)
    errors: list[str] = []
    context.on("page", lambda page: page.on("pageerror", lambda e: errors.append(str(e))))
    try:
        yield context
    finally:
        await context.close()
    assert errors == [], errors


async def fleet_user(hub: Hub, page: Page, smtp: LoopbackSmtp, now: datetime) -> None:
    """Ana, logged in, with KERIO (5 appliances) and Branch (3) besides her own empty org."""
    await register_and_log_in(hub, page, smtp, "Ana Novak", EMAIL)
    assert hub.store is not None
    user = await hub.store.users.by_email(EMAIL)
    assert user is not None
    await seed_organization(hub, user.id, "KERIO", KERIO, now)
    await seed_organization(hub, user.id, "Branch", BRANCH, now)
    await page.reload()
    await expect(page.locator("body[data-loaded=true]")).to_have_count(1)


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                           nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }))"""
    )
    return found


async def check(page: Page, name: str, width: int) -> list[str]:
    """Screenshot the page; the problems found: axe violations, sideways scrolling."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    # Rows off screen are skipped by `content-visibility: auto` until they are scrolled to; a
    # full-page picture shows the whole page as a reader scrolling it would see it.
    await page.add_style_tag(content="* { content-visibility: visible !important; }")
    await page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    problems = [f"{name} @{width}: {json.dumps(v)}" for v in await serious_violations(page)]
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        problems.append(f"{name} @{width}: {overflow} px wider than the screen")
    return problems


def group(page: Page, name: str) -> Locator:
    """The organization's <tbody> (its header's name exactly `name`)."""
    header = page.locator(".org-name", has_text=re.compile(f"^{re.escape(name)}$"))
    return page.locator("tbody.org-group").filter(has=header)


async def settled(page: Page, path: str) -> None:
    await page.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + path)
    await page.wait_for_load_state("networkidle")
    if path == "/":
        await expect(page.locator("body[data-loaded=true]")).to_have_count(1)


async def test_every_page_is_accessible_fits_the_screen_and_is_screenshotted(
    hub: Hub, audit_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Every page, signed out and in, and the dashboard's dialogs and menus, at three widths."""
    problems: list[str] = []
    visitor = await audit_context.browser.new_context(  # type: ignore[union-attr]
        ignore_https_errors=True, bypass_csp=True
    )
    try:
        anonymous = await visitor.new_page()
        await anonymous.goto(hub.url + "/login")
        for width, height in WIDTHS.items():
            await anonymous.set_viewport_size({"width": width, "height": height})
            for name, path in SIGNED_OUT.items():
                await settled(anonymous, path)
                problems += await check(anonymous, name, width)
    finally:
        await visitor.close()

    page = await audit_context.new_page()
    await fleet_user(hub, page, smtp_server, clock.now())
    for width, height in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        for name, path in SIGNED_IN.items():
            await settled(page, path)
            problems += await check(page, name, width)
        await settled(page, "/")
        await page.locator("#user-menu-button").click()
        problems += await check(page, "user-menu", width)
        await page.keyboard.press("Escape")
        if width < 900:
            await page.get_by_role("button", name="Menu").click()
            await expect(page.get_by_role("navigation", name="Main")).to_be_visible()
            problems += await check(page, "navigation-menu", width)
            await page.get_by_role("button", name="Menu").click()
            await expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
        for dialog, opener in (
            ("Add a New Appliance", page.get_by_role("button", name="Add new appliance")),
            ("Rename gw-brno", page.get_by_role("button", name="Rename gw-brno")),
            ("Remove gw-brno from MyKerio?", page.get_by_role("button", name="Remove gw-brno")),
        ):
            await opener.click()
            shown = page.get_by_role("dialog", name=dialog)
            await expect(shown).to_be_visible()
            if width == 375:  # a phone: the dialog fills the screen
                box = await shown.bounding_box()
                assert box is not None
                assert box["width"] >= 374, box
            problems += await check(page, "dialog-" + dialog.split()[0].lower(), width)
            await page.keyboard.press("Escape")
            await expect(shown).to_be_hidden()
    (SHOTS / "problems.txt").write_text("\n".join(problems) + "\n")
    assert problems == []


async def test_appliances_of_all_organizations_grouped_in_words(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Headers count each colour; status, reason and last seen are words; filters, search, sort
    and collapsing work; "no matches" offers to clear."""
    page = await page_context.new_page()
    await fleet_user(hub, page, smtp_server, clock.now())
    kerio = group(page, "KERIO")
    await expect(kerio.locator(".org-toggle")).to_have_accessible_name(
        "KERIO — 3 up · 1 warning · 1 down"
    )
    branch = group(page, "Branch")
    await expect(branch.locator(".org-toggle")).to_contain_text("1 up · 1 down · 1 reserved")
    # The organization of Ana's own domain has no appliances: no header for it.
    await expect(group(page, "acme.example")).to_be_hidden()
    await expect(page.locator("#list-summary")).to_have_text("8 appliances in 3 organizations")

    box = page.locator("tr.appliance", has_text="Kerio Control Box NG100")
    await expect(box.locator("td").first).to_contain_text("Down")
    await expect(box.locator(".reason")).to_have_text(
        "Offline since "
        # The seeded last_seen (the fake clock stands still) in the browser's words; not the
        # browser's own "now" minus 95 minutes, which may pass a minute boundary meanwhile.
        + await box.evaluate(
            "(_row, at) => new Date(at).toLocaleTimeString([], "
            "{ hour: '2-digit', minute: '2-digit' })",
            (clock.now() - timedelta(minutes=95)).isoformat(),
        )
    )
    # Measured against the browser's clock, which goes on: 35 minutes, or 36 past a boundary.
    await expect(box.locator(".seen")).to_have_text(re.compile(r"Last seen 1 h 3[56] min ago"))
    control = page.locator("tr.appliance", has_text="control1.kerio.com")
    await expect(control).to_contain_text("Warning")
    await expect(control).to_contain_text("Update available")
    await expect(control).to_contain_text("2 notifications pending")
    await expect(control.get_by_role("button", name="Rename control1.kerio.com")).to_be_visible()
    await expect(page.locator("tr.appliance", has_text="gw-brno")).to_contain_text(
        "Licence expired"
    )
    # Worst first by default.
    names = kerio.locator("tr.appliance .appliance-name")
    await expect(names.first).to_have_text("Kerio Control Box NG100")
    await expect(names.nth(1)).to_have_text("control1.kerio.com")
    await page.get_by_label("Sort by").select_option("name")
    await expect(names.first).to_have_text("connect.kerio.com")
    await page.get_by_label("Sort by").select_option("product")
    await expect(names.first).to_have_text("connect.kerio.com")
    await expect(names.last).to_have_text("operator2.kerio.com")

    await page.get_by_label("Status", exact=True).select_option("red")
    await expect(page.locator("tr.appliance:visible")).to_have_count(2)
    await expect(page.locator("#list-summary")).to_have_text("Showing 2 of 8 appliances")
    await page.get_by_label("Organization", exact=True).select_option(label="Branch")
    await expect(page.locator("tr.appliance:visible")).to_have_count(1)
    await expect(kerio).to_be_hidden()
    await page.get_by_label("Status", exact=True).select_option("")
    await page.get_by_label("Organization", exact=True).select_option("")
    await page.get_by_label("Search all organizations").fill("brno")
    await expect(page.locator("tr.appliance:visible")).to_have_count(2)
    await page.get_by_label("Search all organizations").fill("no such thing")
    await expect(page.get_by_role("heading", name="No matches")).to_be_visible()
    await expect(page.locator("#appliances")).to_be_hidden()
    await page.get_by_role("button", name="Clear search and filters").click()
    await expect(page.locator("tr.appliance:visible")).to_have_count(8)

    await kerio.locator(".org-toggle").click()
    await expect(kerio.locator(".org-toggle")).to_have_attribute("aria-expanded", "false")
    await expect(kerio.locator("tr.appliance:visible")).to_have_count(0)
    await expect(branch.locator("tr.appliance:visible")).to_have_count(3)
    await page.reload()  # remembered
    await expect(kerio.locator(".org-toggle")).to_have_attribute("aria-expanded", "false")
    await kerio.locator(".org-toggle").click()
    await expect(kerio.locator("tr.appliance:visible")).to_have_count(5)


async def test_a_live_change_updates_its_row_in_place(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """A changed appliance's row is replaced and moved by the sort; every other row is the same
    element as before; the header's counts follow."""
    page = await page_context.new_page()
    await fleet_user(hub, page, smtp_server, clock.now())
    await expect(page.locator("body[data-live=open]")).to_have_count(1)
    await page.evaluate(
        "document.querySelectorAll('tr.appliance').forEach((tr) => { tr.dataset.mark = 'old'; })"
    )
    assert hub.store is not None
    user = await hub.store.users.by_email(EMAIL)
    assert user is not None
    kerio = next(o for o in await hub.store.organizations.of_user(user.id) if o.name == "KERIO")
    stored = next(
        a for a in await hub.store.appliances.in_org(kerio.id) if a.name == "operator1.kerio.com"
    )
    changed = dataclasses.replace(
        ApplianceView.of(stored), status="red", reasons=("Licence expired",)
    )
    hub.bus.publish(ApplianceChanged(kerio.id, (user.id,), changed))
    row = page.locator("tr.appliance", has_text="operator1.kerio.com")
    await expect(row).to_have_attribute("data-status", "red")
    await expect(row).to_contain_text("Licence expired")
    await expect(row).not_to_have_attribute("data-mark", "old")
    kerio_group = group(page, "KERIO")
    await expect(kerio_group.locator(".org-toggle")).to_contain_text("2 up · 1 warning · 2 down")
    # Worst first: the two reds lead, by name.
    names = kerio_group.locator("tr.appliance .appliance-name")
    await expect(names.nth(1)).to_have_text("operator1.kerio.com")
    assert await page.locator("tr.appliance:not([data-mark=old])").count() == 1


async def test_log_in_find_and_rename_with_the_keyboard_only(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Log in, search for an appliance, open its Rename dialog, type and save: keys only."""
    page = await page_context.new_page()
    await fleet_user(hub, page, smtp_server, clock.now())
    await page.locator("#user-menu-button").click()
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", name="Log in to MyKerio")).to_be_visible()

    async def tab_to(predicate: str, limit: int = 60) -> None:
        for _ in range(limit):
            await page.keyboard.press("Tab")
            if await page.evaluate(f"(el => {predicate})(document.activeElement)"):
                return
        raise AssertionError(f"Tab never reached {predicate}")

    await tab_to("el.name === 'email'")
    await page.keyboard.type(EMAIL)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()
    await expect(page.locator("body[data-loaded=true]")).to_have_count(1)

    await tab_to("el.id === 'appliance-search'")
    await page.keyboard.type("ostrava")
    await expect(page.locator("tr.appliance:visible")).to_have_count(1)
    await tab_to("el.textContent === 'Rename box-ostrava'")
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Rename box-ostrava")
    await expect(dialog.get_by_label("New name")).to_be_focused()
    # Tab stays inside the dialog.
    for _ in range(4):
        await page.keyboard.press("Tab")
        assert await page.evaluate("!!document.activeElement.closest('#rename-dialog')")
    for _ in range(4):
        if await page.evaluate("document.activeElement.name === 'name'"):
            break
        await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("Ostrava box")
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_hidden()
    row = page.locator("tr.appliance", has_text="Ostrava box")
    await expect(row).to_be_visible()
    await expect(page.get_by_role("status").filter(has_text="is now called")).to_contain_text(
        "box-ostrava is now called Ostrava box."
    )


async def test_a_lost_live_connection_shows_a_banner_and_reconnects(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """The hub drops every dashboard socket: the banner says so, the page reconnects by itself,
    reloads what it may have missed, and the banner goes."""
    page = await page_context.new_page()
    await fleet_user(hub, page, smtp_server, clock.now())
    await expect(page.locator("body[data-live=open]")).to_have_count(1)
    banner = page.locator("#live-banner")
    await expect(banner).to_be_hidden()
    hub.live.close_all()
    await expect(banner).to_contain_text("live connection to the hub was lost; reconnecting")
    await expect(banner).to_be_hidden()
    await expect(page.locator("body[data-live=open]")).to_have_count(1)
    await expect(page.locator("tr.appliance")).to_have_count(8)


async def test_a_double_click_submits_once_and_the_message_is_in_one_place(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """A double click on Save sends one rename; the success shows in the page's message area,
    and the next submit clears it."""
    page = await page_context.new_page()
    await fleet_user(hub, page, smtp_server, clock.now())
    patches: list[str] = []
    page.on("request", lambda r: patches.append(r.url) if r.method == "PATCH" else None)
    await page.get_by_role("button", name="Rename gw-brno").click()
    dialog = page.get_by_role("dialog", name="Rename gw-brno")
    await dialog.get_by_label("New name").fill("Brno gateway")
    await dialog.get_by_role("button", name="Save").dblclick()
    await expect(dialog).to_be_hidden()
    messages = page.locator("#messages")
    await expect(messages.get_by_role("status")).to_have_text("gw-brno is now called Brno gateway.")
    assert len(patches) == 1, patches
    await page.get_by_role("button", name="Rename Brno gateway").click()
    again = page.get_by_role("dialog", name="Rename Brno gateway")
    await again.get_by_label("New name").fill("Brno gw")
    await again.get_by_role("button", name="Save").click()
    await expect(messages.get_by_role("status")).to_have_text("Brno gateway is now called Brno gw.")
    await expect(messages.locator(".message")).to_have_count(1)
