"""Every account screen driven in Chromium: register, confirm, log in, Settings, 2-step
verification, backup codes, backup phone, password change and reset, audit, session expiry."""

from __future__ import annotations

import pyotp
from playwright.async_api import BrowserContext, Page, expect

from mykerio.clock import FakeClock
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import link_in
from web.hub import Hub

EMAIL = "ana@acme.example"
PASSWORD = "Tulip-Harbour-42"


def local(hub: Hub, link: str) -> str:
    """The emailed link, pointed at this test's hub (its port is chosen at start)."""
    path = link.split("/", 3)[3]
    return f"{hub.url}/{path}"


async def register_in_browser(hub: Hub, page: Page, smtp: LoopbackSmtp) -> None:
    await page.goto(hub.url + "/register")
    await page.get_by_label("Full name").fill("Ana Novak")
    await page.get_by_label("Email").fill(EMAIL)
    password = page.get_by_label("Password", exact=True)
    await password.fill("novak")
    await expect(page.locator('[data-rule="length"]')).to_have_class("unmet")
    await expect(page.locator('[data-rule="personal"]')).to_have_class("unmet")
    await password.fill(PASSWORD)
    for rule in ("length", "groups", "personal", "common"):
        await expect(page.locator(f'[data-rule="{rule}"]')).to_have_class("met")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    before = len(smtp.messages)
    [*_, mail] = await smtp.wait_for(max(1, before))
    await page.goto(local(hub, link_in(mail)))
    await expect(page.locator("#confirm-status")).to_contain_text("is confirmed")


async def log_in(hub: Hub, page: Page, password: str = PASSWORD) -> None:
    await page.goto(hub.url + "/login")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Log in").click()


async def test_register_confirm_log_in_and_out(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp
) -> None:
    """A visitor registers with the live checklist, confirms by email, logs in and out."""
    page = await page_context.new_page()
    await register_in_browser(hub, page, smtp_server)
    await log_in(hub, page, "Wrong-pass-1")
    await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    await log_in(hub, page)
    await expect(page.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()
    await expect(page.locator("#hub-status")).to_have_text("Hub ready")
    await expect(page.locator("#user-menu-button")).to_have_text("Ana Novak")
    await page.locator("#user-menu-button").click()
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", name="Log in to MyKerio")).to_be_visible()
    await page.goto(hub.url + "/settings")
    await expect(page).to_have_url(hub.url + "/login?next=/settings")


async def test_two_step_verification_from_settings_to_login(
    hub: Hub,
    page_context: BrowserContext,
    smtp_server: LoopbackSmtp,
    sms_gateway: LoopbackSmsGateway,
    clock: FakeClock,
) -> None:
    """Enable 2FA by reading the secret off the page, make backup codes, add a phone, then log
    in with a TOTP code, a backup code and an SMS code."""
    page = await page_context.new_page()
    await register_in_browser(hub, page, smtp_server)
    await log_in(hub, page)
    await page.get_by_role("link", name="Settings").click()
    await expect(page.locator("#two-step-state")).to_have_text("2-step verification is off.")
    await page.get_by_role("button", name="Enable 2-step verification").click()
    await expect(page.locator("#totp-qr svg")).to_be_visible()
    secret = await page.locator("#totp-secret").inner_text()
    authenticator = pyotp.TOTP(secret)
    await page.get_by_label("Code from the app").fill(authenticator.at(clock.now()))
    await page.get_by_role("button", name="Verify and save").click()
    await expect(page.locator("#two-step-state")).to_have_text("2-step verification is on.")

    await page.locator("#backup-form").get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Generate new backup codes").click()
    codes = page.locator("#backup-codes-list li")
    await expect(codes).to_have_count(10)
    backup_code = await codes.first.inner_text()
    saved = await page.locator("#backup-save").get_attribute("href")
    assert saved is not None
    assert saved.startswith("data:text/plain")

    await page.get_by_label("Phone number (international format)").fill("+420 377 338 901")
    await page.get_by_role("button", name="Send code").click()
    await sms_gateway.wait_for(1)
    await page.get_by_label("Code", exact=True).fill(sms_gateway.last_code())
    await page.get_by_role("button", name="Save phone").click()
    await expect(page.locator("#phone-state")).to_contain_text("901")

    await page.get_by_label("Receive email notifications from MyKerio").uncheck()
    await expect(page.locator("#messages")).to_contain_text("Saved.")

    for method in ("totp", "backup", "sms"):
        await page.locator("#user-menu-button").click()
        await page.get_by_role("button", name="Log out").click()
        await expect(page.get_by_role("heading", name="Log in to MyKerio")).to_be_visible()
        await log_in(hub, page)
        await expect(page.get_by_role("heading", name="2-step verification")).to_be_visible()
        if method == "totp":
            clock.advance(30)
            await page.get_by_label("Code").fill(authenticator.at(clock.now()))
        elif method == "backup":
            await page.get_by_text("Don't have a code?").click()
            await page.get_by_role("button", name="Use a backup code").click()
            await page.get_by_label("Backup code").fill(backup_code)
        else:
            await page.get_by_text("Don't have a code?").click()
            await page.get_by_role("button", name="Text me a code").click()
            await expect(page.locator("#messages")).to_contain_text("901")
            await sms_gateway.wait_for(2)
            await page.get_by_label("SMS code").fill(sms_gateway.last_code())
        await page.get_by_role("button", name="Verify").click()
        await expect(page.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()


async def test_settings_asks_for_the_password_to_add_a_factor_after_five_minutes(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Five minutes after login, enabling 2-step verification shows a password field with the
    hub's request, goes ahead once it is typed, and the notice email is sent; an empty
    password for new backup codes then says it is required."""
    page = await page_context.new_page()
    await register_in_browser(hub, page, smtp_server)
    await log_in(hub, page)
    await page.get_by_role("link", name="Settings").click()
    await expect(page.locator("#two-step-state")).to_have_text("2-step verification is off.")
    clock.advance(5 * 60 + 1)
    start = page.locator("#totp-start-form")
    await expect(start.get_by_label("Password")).to_be_hidden()
    await page.get_by_role("button", name="Enable 2-step verification").click()
    await expect(start.locator(".error")).to_have_text(
        "Enter your password to confirm this change."
    )
    await start.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Enable 2-step verification").click()
    await expect(page.locator("#totp-qr svg")).to_be_visible()
    await expect(start.get_by_label("Password")).to_be_hidden()
    authenticator = pyotp.TOTP(await page.locator("#totp-secret").inner_text())
    await page.get_by_label("Code from the app").fill(authenticator.at(clock.now()))
    await page.get_by_role("button", name="Verify and save").click()
    await expect(page.locator("#two-step-state")).to_have_text("2-step verification is on.")
    notice = await smtp_server.find(EMAIL, "sign-in settings changed")
    assert "2-step verification was turned on" in str(notice.get_body(("plain",)))

    await page.get_by_role("button", name="Generate new backup codes").click()
    await expect(page.locator("#backup-form .error")).to_have_text("The password is required.")
    await expect(page.locator("#backup-codes-list li")).to_have_count(0)


async def test_forgot_password_reset_and_change_password(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp
) -> None:
    """Reset a forgotten password by the emailed link, then change it in Settings."""
    page = await page_context.new_page()
    await register_in_browser(hub, page, smtp_server)
    await page.goto(hub.url + "/login")
    await page.get_by_role("link", name="Forgot password?").click()
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_role("button", name="Send me a reset link").click()
    await expect(page.locator("#messages")).to_contain_text("If that address has an account")
    [*_, mail] = await smtp_server.wait_for(2)
    assert mail["Subject"] == "Reset your MyKerio password"
    await page.goto(local(hub, link_in(mail)))
    await page.get_by_label("New password").fill("Granite-Meadow-77")
    await page.get_by_label("Type it again").fill("Granite-Meadow-78")
    await page.get_by_role("button", name="Set password").click()
    await expect(page.get_by_role("alert")).to_have_text("The two passwords do not match.")
    await page.get_by_label("Type it again").fill("Granite-Meadow-77")
    await page.get_by_role("button", name="Set password").click()
    await expect(page.locator("#reset-done")).to_be_visible()

    await log_in(hub, page, "Granite-Meadow-77")
    await expect(page.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()
    await page.goto(hub.url + "/settings")
    await page.get_by_label("Current password").fill("Granite-Meadow-77")
    await page.get_by_label("New password", exact=True).fill("Copper-Lantern-19")
    await page.get_by_label("Confirm new password").fill("Copper-Lantern-19")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator("#messages")).to_contain_text("Your password was changed")


async def test_a_used_or_expired_reset_link_says_so_when_it_opens(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Opening a used or an hour-old reset link shows why it no longer works and the way to a
    new one, without showing the password form first."""
    page = await page_context.new_page()
    await register_in_browser(hub, page, smtp_server)
    await page.goto(hub.url + "/forgot")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_role("button", name="Send me a reset link").click()
    [*_, mail] = await smtp_server.wait_for(2)
    await page.goto(local(hub, link_in(mail)))
    await expect(page.get_by_label("New password")).to_be_focused()
    await page.get_by_label("New password").fill("Granite-Meadow-77")
    await page.get_by_label("Type it again").fill("Granite-Meadow-77")
    await page.get_by_role("button", name="Set password").click()
    await expect(page.locator("#reset-done")).to_be_visible()

    page = await page_context.new_page()
    await page.goto(local(hub, link_in(mail)))
    await expect(page.get_by_role("alert")).to_contain_text("not valid any more")
    await expect(page.locator("#reset-form")).to_be_hidden()
    await page.get_by_role("link", name="Request a new link").click()
    await expect(page).to_have_url(hub.url + "/forgot")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_role("button", name="Send me a reset link").click()
    fresh = await smtp_server.wait_for(4)
    clock.advance(3601)
    await page.goto(local(hub, link_in(fresh[3])))
    await expect(page.get_by_role("alert")).to_contain_text("not valid any more")
    await expect(page.get_by_label("New password")).to_be_hidden()


async def test_audit_page_lists_and_filters_logins(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """The access audit shows failed and successful logins and filters by action."""
    page = await page_context.new_page()
    await register_in_browser(hub, page, smtp_server)
    await log_in(hub, page, "Wrong-pass-1")
    await expect(page.get_by_role("alert")).to_be_visible()
    clock.advance(1)
    await log_in(hub, page)
    await expect(page.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()
    await page.locator("#user-menu-button").click()
    await page.get_by_role("link", name="Access audit").click()
    rows = page.locator("#audit-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("Login")
    await page.get_by_label("Action").select_option("login_failed")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Failed login")


async def test_idle_session_returns_to_login_with_a_message(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """After 15 idle minutes the next page shows the login with "Your session has expired"."""
    page = await page_context.new_page()
    await register_in_browser(hub, page, smtp_server)
    await log_in(hub, page)
    await expect(page.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()
    # The dashboard's own first requests must be answered before the clock jumps; otherwise
    # they meet the expired session first and leave for the login page before the click.
    await expect(page.locator("#appliances-empty")).to_be_visible()
    await expect(page.locator("body[data-live=open]")).to_have_count(1)
    clock.advance(16 * 60)
    await page.get_by_role("link", name="Settings").click()
    await expect(page.get_by_role("alert")).to_have_text("Your session has expired. Log in again.")
