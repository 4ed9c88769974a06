"""In Chromium: the Shared Definitions pages, with a simulated Kerio Control applying them."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from playwright.async_api import BrowserContext, expect

from mykerio.agent.definitions import LocalDefinitions
from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.definitions.model import Kind
from tests.agent.conftest import FakeSleep
from tests.e2e.test_organizations import register_and_log_in
from tests.smtp_server import LoopbackSmtp
from web.hub import Hub

WAIT = 10.0


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
            ("time-ranges", Kind.TIME, "Work", "TimeRangeDaily", "Monday,Friday 08:00-17:30"),
        ]
        for path, kind, group, kind_of_item, value in cases:
            await page.goto(f"{hub.url}/definitions/{path}")
            await page.get_by_label("New group").fill(group)
            await page.get_by_role("button", name="Add", exact=True).click()
            article = page.locator("article.group", has_text=group)
            await article.get_by_label("Type").select_option(kind_of_item)
            await article.get_by_label("Value").fill(value)
            await article.get_by_role("button", name="Add item").click()
            await expect(article.locator("tbody tr")).to_have_count(1)
            await local.wait_for(functools.partial(holds_version, kind=kind, version=2), WAIT)
            await page.reload()
            await expect(page.locator("#sync tbody tr")).to_have_attribute("data-state", "in_sync")
            await expect(page.locator("#history-table tbody tr")).to_have_count(2)

        article = page.locator("article.group", has_text="Work")
        await article.get_by_label("Value").fill("Monday 25:00-26:00")
        await article.get_by_role("button", name="Add item").click()
        await expect(page.locator("#definitions > .error")).to_contain_text("entry 2")

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
