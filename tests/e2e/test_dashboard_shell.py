"""Browser smoke test: Chromium opens the dashboard shell over HTTPS and its script runs."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from web.hub import Hub


async def test_dashboard_shell_loads_over_https(hub: Hub, page_context: BrowserContext) -> None:
    """The shell renders, its ES module runs under the CSP, and shows the hub ready."""
    page = await page_context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if message.type == "error" else None,
    )
    response = await page.goto(hub.url + "/")
    assert response is not None
    assert response.ok
    assert response.url.startswith("https://")
    await expect(page.get_by_role("heading", name="Appliances")).to_be_visible()
    await expect(page.locator("#hub-status")).to_have_text("Hub ready")
    await expect(page.locator("#hub-version")).to_contain_text("MyKerio Hub 0.")
    assert violations == []
