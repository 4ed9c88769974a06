"""In Chromium: the Backups page lists the simulator's backup after "Back up now", downloads it,
deletes it, and shows the guide's import instructions with the network-interface warning."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from playwright.async_api import BrowserContext, expect

from mykerio.agent.backups import BackupOptions
from tests.api_client import ApiSession
from tests.e2e.test_organizations import PASSWORD, register_and_log_in
from tests.e2e.test_shell import audit_context, serious_violations
from tests.smtp_server import LoopbackSmtp
from tests.web.test_backups_upload import Simulated, add_simulator, stop_simulators
from web.hub import Hub

__all__ = ["audit_context", "stop_simulators"]


async def test_back_up_now_download_and_delete_on_the_backups_page(
    hub: Hub,
    api: ApiSession,
    page_context: BrowserContext,
    smtp_server: LoopbackSmtp,
    tmp_path: Path,
) -> None:
    """The page shows the appliance; "Back up now" brings a row (date, size, product,
    version, reason); Download saves the file the appliance sent; Delete removes the row."""
    sim: Simulated = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    page = await page_context.new_page()
    await register_and_log_in(hub, page, smtp_server, "Bob Novak", "bob@acme.example")
    # Bob's own organization has no appliance.
    await page.goto(f"{hub.url}/backups")
    await expect(page.locator("#backups-empty")).to_be_visible()
    await expect(page.locator("#restore")).to_contain_text("unselect the restoration of Network")

    await page_context.clear_cookies()  # now Ana, whose organization has the simulator
    await page.goto(hub.url + "/login")
    await page.get_by_label("Email").fill("ana@acme.example")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Appliances")).to_be_visible()
    await page.goto(f"{hub.url}/backups")
    group = page.locator(".backup-group", has_text="Brno gateway")
    await expect(group).to_be_visible()
    await group.get_by_role("button", name="Back up now").click()
    stored = await sim.next_stored()
    await page.reload()
    row = group.locator("tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Kerio Control")
    await expect(row).to_contain_text("9.4.5")
    await expect(row).to_contain_text("Back up now")

    async with page.expect_download() as waiting:
        await row.get_by_role("link", name="Download").click()
    download = await waiting.value
    saved = await download.path()
    assert hub.store is not None
    backup = await hub.store.backups.get(stored.backup_id)
    content = await asyncio.to_thread(Path(saved).read_bytes)
    assert hashlib.sha256(content).hexdigest() == backup.sha256
    assert download.suggested_filename.endswith(".tgz")

    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await row.get_by_role("button", name="Delete").click()
    await expect(row).to_have_count(0)
    assert await hub.store.backups.newest(sim.appliance_id, 5) == []


async def test_two_backups_of_an_appliance_compare_on_the_page(
    hub: Hub,
    api: ApiSession,
    audit_context: BrowserContext,
    smtp_server: LoopbackSmtp,
    tmp_path: Path,
) -> None:
    """With two backups, Compare shows the files that differ: the certificate as a coloured
    diff, the private key only said to differ, the same files counted; at 1280 and 375 px."""
    sim: Simulated = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    base = f"/api/v1/organizations/{sim.org_id}/backups"
    for _ in range(2):
        assert (await api.post(f"{base}/now", {"appliance_id": sim.appliance_id})).status == 202
        await sim.next_stored()
        await sim.state("ok")
    page = await audit_context.new_page()
    await page.goto(hub.url + "/login")
    await page.get_by_label("Email").fill("ana@acme.example")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Appliances")).to_be_visible()
    await page.goto(f"{hub.url}/backups")
    group = page.locator(".backup-group", has_text="Brno gateway")
    await expect(group.locator("tbody tr")).to_have_count(2)

    await group.get_by_role("button", name="Compare").click()
    comparison = group.locator(".comparison")
    await expect(comparison).to_contain_text("file(s) differ")
    certificate = comparison.locator("details", has_text="sslcert/server.crt")
    await expect(certificate.locator(".diff-add").first).to_be_visible()
    await expect(certificate.locator(".diff-del").first).to_be_visible()
    await expect(comparison.locator("details", has_text="sslcert/server.key")).to_contain_text(
        "a private key: not shown"
    )
    await expect(comparison.locator("details", has_text="server.key").locator("pre")).to_have_count(
        0
    )
    assert await serious_violations(page) == []
    shots = Path(__file__).parent / "artifacts" / "screenshots"
    await asyncio.to_thread(shots.mkdir, parents=True, exist_ok=True)
    for width in (1280, 375):
        await page.set_viewport_size({"width": width, "height": 900})
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow} px wider than the screen at {width}"
        await page.screenshot(path=str(shots / f"backups-compare-{width}.png"), full_page=True)


async def test_backup_settings_are_sent_to_the_appliance_from_the_page(
    hub: Hub,
    api: ApiSession,
    audit_context: BrowserContext,
    smtp_server: LoopbackSmtp,
    tmp_path: Path,
) -> None:
    """The page shows what the appliance reported; unticking "Save configuration to MyKerio"
    and choosing Weekly reaches the simulator, and the page shows them after its report."""
    sim: Simulated = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    page = await audit_context.new_page()
    await page.goto(hub.url + "/login")
    await page.get_by_label("Email").fill("ana@acme.example")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Appliances")).to_be_visible()
    await page.goto(f"{hub.url}/backups")
    group = page.locator(".backup-group", has_text="Brno gateway")
    switch = group.get_by_label("Save configuration to MyKerio")
    await expect(switch).to_be_checked()
    await expect(group.get_by_label("Schedule")).to_have_value("0")  # (only when asked)
    assert await serious_violations(page) == []

    await switch.uncheck()
    await group.get_by_label("Schedule").select_option(label="Weekly")
    await group.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#messages")).to_contain_text("Sent to the appliance")
    await sim.link.backups.wait_for(lambda _record: not sim.link.backups.options.enabled, 10)
    assert sim.link.backups.options.every == 168 * 3600
    await expect(group.get_by_label("Save configuration to MyKerio")).not_to_be_checked()
    await expect(group.get_by_label("Schedule")).to_have_value("168")
    shots = Path(__file__).parent / "artifacts" / "screenshots"
    await asyncio.to_thread(shots.mkdir, parents=True, exist_ok=True)
    for width in (1280, 375):
        await page.set_viewport_size({"width": width, "height": 900})
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow} px wider than the screen at {width}"
        await page.screenshot(path=str(shots / f"backups-settings-{width}.png"))
