"""A real Chromium (Debian's `chromium` package) driven by Playwright, one per test session."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

# Flags for a sandboxed CI machine: no background traffic to the closed network, no GPU.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "chromium is installed by .ci/install-system-deps"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    # The hub's certificate is self-signed for localhost; a fresh context trusts it explicitly.
    context = await browser.new_context(ignore_https_errors=True)
    script_errors: list[str] = []
    # Any uncaught error in a page's script fails the test that caused it.
    context.on("page", lambda page: page.on("pageerror", lambda e: script_errors.append(str(e))))
    try:
        yield context
    finally:
        await context.close()
    assert script_errors == [], script_errors
