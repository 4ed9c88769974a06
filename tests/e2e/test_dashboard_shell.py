"""Browser smoke test: Chromium opens the hub over HTTPS and lands on the login page."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from web.hub import Hub


async def test_hub_opens_over_https_at_the_login_page(
    hub: Hub, page_context: BrowserContext
) -> None:
    """Opening the dashboard logged out shows the login page, scripts running under the CSP."""
    page = await page_context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    response = await page.goto(hub.url + "/")
    assert response is not None
    assert response.ok
    assert page.url == hub.url + "/login?next=/"
    await expect(page.get_by_role("heading", name="Log in to MyKerio")).to_be_visible()
    await expect(page.locator("#hub-version")).to_contain_text("MyKerio Hub 0.")
    assert errors == []
