"""In Chromium: the Shared Definitions pages, with a simulated Kerio Control applying them."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from playwright.async_api import BrowserContext, Page, expect

from mykerio.agent.definitions import LocalDefinitions
from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.definitions.model import Kind
from tests.agent.conftest import FakeSleep
from tests.e2e.test_organizations import register_and_log_in
from tests.e2e.test_shell import audit_context, serious_violations
from tests.smtp_server import LoopbackSmtp
from web.hub import Hub

WAIT = 10.0
__all__ = ["audit_context"]  # (the fixture: a context that may run axe-core)


def holds_version(definitions: LocalDefinitions, *, kind: Kind, version: int) -> bool:
    """Whether the box holds that version of the kind."""
    return definitions.version(kind) == version


async def test_each_page_creates_a_group_and_an_item_that_the_control_applies(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """On IP Addresses, URL Groups and Time Ranges: add a group and an item; the linked
    Kerio Control holds it and the page shows it in sync; a bad item shows the rule."""
    page = await page_context.new_page()
    await register_and_log_in(hub, page, smtp_server, "Ana Novak", "ana@acme.example")
    local = LocalDefinitions()
    local.add_local(
        Kind.URL, [{"name": "Old ads", "entries": [{"type": "Url", "url": "ads.example"}]}]
    )
    endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    link = ApplianceLink(
        IdentityStore(tmp_path / "gw"),
        Profile("control", "9.4.0", host_name="gw"),
        endpoint,
        sleep=FakeSleep(),
        definitions=local,
    )
    task = asyncio.create_task(link.run())
    try:
        view = await link.wait_for(lambda v: v.add_link is not None, WAIT)
        assert view.add_link is not None
        await page.goto(view.add_link.replace("https://localhost", hub.url.rsplit(":", 1)[0]))
        await page.get_by_label("Name").fill("Brno gateway")
        await page.get_by_role("button", name="Add").click()
        await link.wait_for(lambda v: v.phase == "linked", WAIT)
        await expect(page.locator("#appliances tbody tr", has_text="Brno gateway")).to_be_visible()

        cases = [
            ("ip-addresses", Kind.IP, "Offices", "Network", "192.168.10.0/255.255.255.0"),
            ("url-groups", Kind.URL, "Blocked", "Url", "*.games.example/*"),
            ("time-ranges", Kind.TIME, "Work", "TimeRangeDaily", ""),
        ]
        for path, kind, group, kind_of_item, value in cases:
            await page.goto(f"{hub.url}/definitions/{path}")
            await page.get_by_label("New group").fill(group)
            await page.get_by_role("button", name="Add", exact=True).click()
            article = page.locator("article.group", has_text=group)
            await article.get_by_label("Type").select_option(kind_of_item)
            if value:
                await article.get_by_label("Value").fill(value)
            else:  # the time range form: Monday to Friday, 08:00 to 17:00 by default
                await article.get_by_label("To time").fill("17:30")
            await article.get_by_role("button", name="Add item").click()
            await expect(article.locator("tbody tr")).to_have_count(1)
            await local.wait_for(functools.partial(holds_version, kind=kind, version=2), WAIT)
            # The answer reaches the page live: no reload.
            await expect(page.locator("#sync tbody tr")).to_have_attribute("data-state", "in_sync")
            await expect(page.locator("#history-table tbody tr")).to_have_count(2)
        work = page.locator("article.group", has_text="Work")
        await expect(work.locator("tbody tr")).to_contain_text(
            "Monday, Tuesday, Wednesday, Thursday, Friday 08:00-17:30"
        )

        await page.goto(f"{hub.url}/definitions/url-groups")
        await page.get_by_role("button", name="Show its groups").click()
        await page.get_by_label("Old ads (1)").check()
        await page.get_by_role("button", name="Import").click()
        await expect(page.locator("article.group", has_text="Old ads")).to_be_visible()
        await local.wait_for(lambda d: d.version(Kind.URL) == 3, WAIT)
        assert [g["name"] for g in local.shared(Kind.URL)] == ["Blocked", "Old ads"]
    finally:
        link.stop()
        async with asyncio.timeout(WAIT):
            await task


SHOTS = Path(__file__).parent / "artifacts" / "screenshots"


async def link_control(
    hub: Hub, page: Page, tmp_path: Path, local: LocalDefinitions, name: str
) -> tuple[ApplianceLink, asyncio.Task[None]]:
    """A simulated Kerio Control 9.4, added to the logged-in member's organization."""
    endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    link = ApplianceLink(
        IdentityStore(tmp_path / name),
        Profile("control", "9.4.0", host_name=name),
        endpoint,
        sleep=FakeSleep(),
        definitions=local,
    )
    task = asyncio.create_task(link.run())
    view = await link.wait_for(lambda v: v.add_link is not None, WAIT)
    assert view.add_link is not None
    await page.goto(view.add_link.replace("https://localhost", hub.url.rsplit(":", 1)[0]))
    await page.get_by_label("Name").fill(name)
    await page.get_by_role("button", name="Add").click()
    await link.wait_for(lambda v: v.phase == "linked", WAIT)
    await expect(page.locator("#appliances tbody tr", has_text=name)).to_be_visible()
    return link, task


async def test_the_time_range_form_has_each_kinds_fields_and_shows_the_hubs_rules_inline(
    hub: Hub, audit_context: BrowserContext, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Daily (days, from and to time), weekly (day and time to day and time) and absolute (date
    and time to date and time) each have their own fields; an empty field, no day and a from
    after the to are said in the form, at the field; what is accepted reaches the Control."""
    page = await audit_context.new_page()
    await register_and_log_in(hub, page, smtp_server, "Ana Novak", "ana@acme.example")
    local = LocalDefinitions()
    link, task = await link_control(hub, page, tmp_path, local, "gw")
    try:
        await page.goto(f"{hub.url}/definitions/time-ranges")
        await page.get_by_label("New group").fill("Hours")
        await page.get_by_role("button", name="Add", exact=True).click()
        article = page.locator("article.group", has_text="Hours")
        form = article.locator("form.add-entry")
        problem = form.locator(".error")

        for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
            await form.get_by_label(day, exact=True).uncheck()
        await form.get_by_role("button", name="Add item").click()
        await expect(problem).to_contain_text("choose at least one day")
        await expect(form.locator(".days")).to_have_attribute("aria-invalid", "true")
        await expect(article.locator("tbody tr")).to_have_count(0)
        await form.get_by_label("Sat", exact=True).check()
        await form.get_by_label("Sun", exact=True).check()
        await form.get_by_label("From time").fill("09:00")
        await form.get_by_label("To time").fill("13:00")
        await form.get_by_role("button", name="Add item").click()
        await expect(article.locator("tbody tr")).to_have_count(1)
        await expect(article.locator("tbody tr").nth(0)).to_contain_text(
            "Saturday, Sunday 09:00-13:00"
        )

        await form.get_by_label("Type").select_option("TimeRangeWeekly")
        await form.get_by_label("From day").select_option("Friday")
        await form.get_by_label("From time").fill("22:00")
        await form.get_by_label("To day").select_option("Monday")
        await form.get_by_label("To time").fill("06:00")
        await form.get_by_role("button", name="Add item").click()
        await expect(article.locator("tbody tr")).to_have_count(2)
        await expect(article.locator("tbody tr").nth(1)).to_contain_text(
            "Friday 22:00 - Monday 06:00"
        )

        await form.get_by_label("Type").select_option("TimeRangeAbsolute")
        await form.get_by_role("button", name="Add item").click()
        await expect(problem).to_have_text("Enter the from date.")
        await expect(form.get_by_label("From date")).to_have_attribute("aria-invalid", "true")
        await form.get_by_label("From date").fill("2026-12-26")
        await form.get_by_label("To date").fill("2026-12-24")
        await form.get_by_role("button", name="Add item").click()
        await expect(problem).to_contain_text(
            "the from date and time must not be after the to date and time"
        )
        await expect(problem).to_contain_text('group "Hours", entry 3')
        await expect(form.get_by_label("To date")).to_have_attribute("aria-invalid", "true")
        assert await serious_violations(page) == []  # (axe-core, with the errors shown)
        for width in (1280, 375):
            await page.set_viewport_size({"width": width, "height": 900})
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{overflow} px wider than the screen at {width}"
            await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / f"time-ranges-{width}.png"), full_page=True)
        await page.set_viewport_size({"width": 1280, "height": 720})
        await form.get_by_label("To date").fill("2026-12-27")
        await form.get_by_role("button", name="Add item").click()
        await expect(article.locator("tbody tr")).to_have_count(3)
        await expect(problem).to_be_hidden()
        await expect(article.locator("tbody tr").nth(2)).to_contain_text(
            "2026-12-26 00:00 - 2026-12-27 23:59"
        )
        await local.wait_for(lambda d: d.version(Kind.TIME) == 4, WAIT)
        (shared,) = local.shared(Kind.TIME)
        absolute = shared["entries"][2]
        assert (absolute["fromDate"], absolute["toDate"]) == (
            {"year": 2026, "month": 11, "day": 26},  # Kerio's months count from 0
            {"year": 2026, "month": 11, "day": 27},
        )
    finally:
        link.stop()
        async with asyncio.timeout(WAIT):
            await task


async def test_each_appliances_sync_state_changes_live_on_an_open_page(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """A page left open (another tab) shows, without a reload: a change made elsewhere and the
    Control in sync with it, the Control's refusal with its error, and the Control offline."""
    page = await page_context.new_page()
    await register_and_log_in(hub, page, smtp_server, "Ana Novak", "ana@acme.example")
    local = LocalDefinitions()
    link, task = await link_control(hub, page, tmp_path, local, "gw")
    try:
        watcher = await page_context.new_page()
        await watcher.goto(f"{hub.url}/definitions/ip-addresses")
        row = watcher.locator("#sync tbody tr", has_text="gw")
        await expect(row).to_have_attribute("data-state", "in_sync")
        await expect(watcher.locator("body[data-live=open]")).to_have_count(1)

        await page.goto(f"{hub.url}/definitions/ip-addresses")
        await page.get_by_label("New group").fill("Servers")
        await page.get_by_role("button", name="Add", exact=True).click()
        await expect(watcher.locator("article.group", has_text="Servers")).to_be_visible()
        await expect(watcher.locator("#defs-version")).to_have_text("Version 1.")
        await expect(row).to_contain_text("In sync at version 1")

        local.refuse_apply = True
        article = page.locator("article.group", has_text="Servers")
        await article.get_by_label("Value").fill("10.0.0.1")
        await article.get_by_role("button", name="Add item").click()
        await expect(row).to_have_attribute("data-state", "failed")
        await expect(row.get_by_role("button", name="Retry")).to_be_visible()

        link.stop()
        async with asyncio.timeout(WAIT):
            await task
        await expect(row).to_have_attribute("data-state", "offline")
    finally:
        link.stop()
        async with asyncio.timeout(WAIT):
            await task
