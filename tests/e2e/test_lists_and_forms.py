"""Lists and forms in Chromium: the access audit's paging and filters, forms that clear their
earlier messages on submit, and the activity log in words."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import BrowserContext, Page, expect

from mykerio.clock import FakeClock
from mykerio.models import AccessEvent, ActivityEvent
from mykerio.store import Store
from tests.e2e.test_organizations import PASSWORD, register_and_log_in
from tests.smtp_server import LoopbackSmtp
from web.hub import Hub

EMAIL = "ana@acme.example"


async def logged_in(hub: Hub, page_context: BrowserContext, smtp: LoopbackSmtp) -> Page:
    page = await page_context.new_page()
    await register_and_log_in(hub, page, smtp, "Ana Novak", EMAIL)
    return page


def store_of(hub: Hub) -> Store:
    assert hub.store is not None
    return hub.store


async def test_audit_pages_once_and_clears_results_under_an_error(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """A double click on "Older records" adds each row once and the button goes when nothing
    is older; a bad IP or a reversed date range shows an error with no stale rows under it."""
    page = await logged_in(hub, page_context, smtp_server)
    store = store_of(hub)
    user = await store.users.by_email(EMAIL)
    assert user is not None
    for number in range(99):  # with the login: 100 records, two full pages of 50
        await store.audit.add(
            AccessEvent(
                id=f"seeded{number:03}",
                user_id=user.id,
                email=EMAIL,
                at=clock.now() - timedelta(minutes=number + 1),
                ip="198.51.100.7" if number % 2 else "192.0.2.9",
                user_agent="seeded",
                action="login_failed",
                detail="",
            )
        )
    await page.locator("#user-menu-button").click()
    await page.get_by_role("link", name="Access audit").click()
    rows = page.locator("#audit-table tbody tr")
    await expect(rows).to_have_count(50)
    older = page.get_by_role("button", name="Older records")
    await older.dblclick()
    await expect(rows).to_have_count(100)
    await expect(older).to_be_hidden()
    ids = await rows.evaluate_all("rows => rows.map(r => r.textContent)")
    assert len(set(ids)) == 100

    ip = page.get_by_label("IP address or prefix")
    await ip.fill("198.51.100")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_role("alert")).to_contain_text("network prefix")
    await expect(ip).to_have_attribute("aria-invalid", "true")
    await expect(rows).to_have_count(0)
    await expect(page.locator("#audit-empty")).to_be_hidden()

    await ip.fill("198.51.100.0/24")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(49)
    await expect(page.get_by_role("alert")).to_be_hidden()
    await expect(ip).not_to_have_attribute("aria-invalid", "true")
    assert set(await rows.locator("td:nth-child(4)").all_text_contents()) == {"198.51.100.7"}

    await page.get_by_label("From").fill("2026-12-02")
    await page.get_by_label("To").fill("2026-11-01")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_role("alert")).to_contain_text("after its end")
    await expect(rows).to_have_count(0)


async def test_forms_clear_earlier_messages_and_marks_on_submit(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp
) -> None:
    """After an error, a successful invite or password change shows its success alone: the old
    error and the red field mark are gone."""
    page = await logged_in(hub, page_context, smtp_server)
    await page.get_by_role("link", name="Organizations").click()
    invite = page.get_by_role("dialog", name="Invite a user")
    email = invite.get_by_label("Email")
    messages = page.locator("#messages")
    await page.get_by_role("button", name="Invite…").click()
    await email.fill("not-an-address")
    await invite.get_by_role("button", name="Send invitation").click()
    # The hub's message, in the dialog, beside the marked field.
    await expect(invite.get_by_role("alert")).to_contain_text("Enter a valid email address")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await email.fill("bob@other.example")
    await invite.get_by_role("button", name="Send invitation").click()
    await expect(invite).to_be_hidden()
    await expect(messages.get_by_role("status")).to_contain_text("bob@other.example")
    # Opened again: no old error or mark; a new error replaces the success note.
    await page.get_by_role("button", name="Invite…").click()
    await expect(invite.get_by_role("alert")).to_be_hidden()
    await expect(email).not_to_have_attribute("aria-invalid", "true")
    await email.fill("still wrong")
    await invite.get_by_role("button", name="Send invitation").click()
    await expect(invite.get_by_role("alert")).to_be_visible()
    await expect(messages.get_by_role("status")).to_have_count(0)
    await page.keyboard.press("Escape")

    await page.get_by_role("link", name="Settings").click()
    form = page.locator("#password-form")
    await page.get_by_label("Current password").fill("Not-my-password-9")
    await page.get_by_label("New password", exact=True).fill("Quartz-Meadow-77")
    await page.get_by_label("Confirm new password").fill("Quartz-Meadow-77")
    await page.get_by_role("button", name="Change password").click()
    await expect(form.locator(".error")).to_be_visible()
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password", exact=True).fill("Quartz-Meadow-77")
    await page.get_by_label("Confirm new password").fill("Quartz-Meadow-77")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator("#messages")).to_contain_text("Your password was changed")
    await expect(form.locator(".error")).to_be_hidden()
    assert await form.locator("[aria-invalid]").count() == 0


async def test_activity_log_speaks_words_and_filters_appliance_actions(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """The activity log shows "Appliance added", not `appliance_added`, and its filter offers
    the appliance actions."""
    page = await logged_in(hub, page_context, smtp_server)
    store = store_of(hub)
    user = await store.users.by_email(EMAIL)
    assert user is not None
    [organization] = await store.organizations.of_user(user.id)
    for number, action in enumerate(("appliance_added", "appliance_renamed", "appliance_removed")):
        await store.activity.add(
            ActivityEvent(
                id=f"seeded{number}",
                org_id=organization.id,
                actor_id=user.id,
                actor_email=EMAIL,
                at=clock.now() + timedelta(seconds=number + 1),
                ip="127.0.0.1",
                action=action,
                target="Branch firewall",
                detail="",
            )
        )
    await page.get_by_role("link", name="Organizations").click()
    log = page.locator("#activity tbody")
    await expect(log).to_contain_text("Appliance added")
    await expect(log).to_contain_text("Appliance renamed")
    await expect(log).to_contain_text("Appliance removed")
    await expect(log).not_to_contain_text("appliance_")
    await (
        page.locator("#activity-filter")
        .get_by_label("Action")
        .select_option(label="Appliance renamed")
    )
    await page.locator("#activity-filter").get_by_role("button", name="Filter").click()
    await expect(log.locator("tr")).to_have_count(1)
    await expect(log).to_contain_text("Appliance renamed")
