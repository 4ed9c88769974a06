"""In Chromium: the simulator's SMTP Relay page with "MyKerio notification service" — Test
shows the relay's exact refusal or success, an alert goes out when a status knob switches on,
and the Debug log page shows the relay's answers word for word, as in guide 5.1. Screenshots
at 1280 and 375 px go to tests/e2e/artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import BrowserContext, expect

from mykerio.agent.admin_ui import start_admin_ui
from tests.e2e.test_relay_pages import screenshots
from tests.smtp_server import LoopbackSmtp
from tests.web.test_relay import stop_simulators, waiting_simulator
from web.hub import Hub

__all__ = ["stop_simulators"]


async def test_smtp_relay_page_test_button_alerts_and_debug_log(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """An appliance nobody added yet: Test to an address with a TLD that does not exist shows
    the guide's text, Test to a good one sends the test email, switching "Low memory" on
    mails the alert recipient, and the debug log holds `{MyKerio} Operation failed …`."""
    link = await waiting_simulator(hub, tmp_path)
    ui = start_admin_ui(link)
    try:
        page = await page_context.new_page()
        await page.goto(ui.url)
        await page.get_by_role("link", name="SMTP Relay").click()
        await expect(page.get_by_role("heading", name="SMTP Relay")).to_be_visible()
        await expect(page.get_by_label("MyKerio notification service")).to_be_checked()
        await page.get_by_label("Alert recipients").fill("ops@example.com")
        await page.get_by_role("button", name="Apply").click()
        await expect(page.get_by_label("Alert recipients")).to_have_value("ops@example.com")

        await page.get_by_label("Email Address").fill("asmith@example.local")
        await page.get_by_role("button", name="Test").click()
        await expect(page.locator("#test-result")).to_have_text(
            "Recipient asmith@example.local: Email address format is not valid."
        )
        await page.get_by_label("Email Address").fill("ana@example.com")
        await page.get_by_role("button", name="Test").click()
        await expect(page.locator("#test-result")).to_contain_text(
            "A test email was sent to ana@example.com."
        )
        await smtp_server.find("ana@example.com", "Kerio Control test email")
        await screenshots(page, "agent-smtp-relay")

        link.set_knobs({"low_memory": True})
        alert = await smtp_server.find("ops@example.com", "Low memory")
        assert "gw-brno" in str(alert["Subject"])

        await page.get_by_role("link", name="Debug").click()
        log = page.locator("#debug-log")
        await expect(log).to_contain_text(
            "{MyKerio} Operation failed Recipient asmith@example.local: "
            "Email address format is not valid."
        )
        await expect(log).to_contain_text("{MyKerio} Email to ana@example.com accepted")
        await expect(log).to_contain_text("{MyKerio} Email to ops@example.com accepted")
        await screenshots(page, "agent-debug-log")
    finally:
        await ui.close()
