"""The register page refuses common passwords (with digits added, or the product's name) and
its checklist says which rule failed after submit."""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext, expect

from web.hub import Hub


@pytest.mark.parametrize("password", ["Password123!", "MyKerio2026!"])
async def test_register_refuses_a_common_password_and_marks_the_rule(
    hub: Hub, page_context: BrowserContext, password: str
) -> None:
    """Submitting a common password (digits and symbols appended, or the product's name) is
    refused, and the live checklist marks "Not a commonly used password" unmet."""
    page = await page_context.new_page()
    await page.goto(hub.url + "/register")
    await page.get_by_label("Full name").fill("Ana Novak")
    await page.get_by_label("Email").fill("ana@acme.example")
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("alert")).to_contain_text("Must not be")
    await expect(page.locator('[data-rule="common"]')).to_have_class("unmet")
    await expect(page.get_by_role("heading", name="Check your email")).to_be_hidden()
