"""Organizations in Chromium: invite a second person who registers and accepts in another
browser, then remove them while their dashboard is open."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, Page, expect

from mykerio.clock import FakeClock
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import link_in
from web.hub import Hub

PASSWORD = "Tulip-Harbour-42"


def local(hub: Hub, link: str) -> str:
    return f"{hub.url}/{link.split('/', 3)[3]}"


async def register_and_log_in(
    hub: Hub, page: Page, smtp: LoopbackSmtp, name: str, email: str
) -> None:
    await page.goto(hub.url + "/register")
    await page.get_by_label("Full name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    mail = await smtp.find(email, "Confirm your MyKerio account")
    await page.goto(local(hub, link_in(mail)))
    await expect(page.locator("#confirm-status")).to_contain_text("is confirmed")
    await page.goto(hub.url + "/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()


async def test_invite_accept_and_remove_with_the_dashboard_open(
    hub: Hub, browser: Browser, page_context: BrowserContext, smtp_server: LoopbackSmtp
) -> None:
    """Ana invites Bob; Bob registers in his own browser and accepts; Ana removes Bob and his
    open dashboard says at once that he lost access."""
    ana = await page_context.new_page()
    await register_and_log_in(hub, ana, smtp_server, "Ana Novak", "ana@acme.example")
    await ana.get_by_role("link", name="Organizations").click()
    await expect(ana.locator("#org-name")).to_have_text("acme.example")
    await ana.get_by_role("button", name="Invite…").click()
    invite = ana.get_by_role("dialog", name="Invite a user")
    await expect(invite.get_by_label("Email")).to_be_focused()
    await invite.get_by_label("Email").fill("bob@")
    await invite.get_by_role("button", name="Send invitation").click()
    await expect(invite.get_by_role("alert")).to_contain_text("Enter a valid email address")
    await invite.get_by_label("Email").fill("bob@other.example")
    await invite.get_by_role("button", name="Send invitation").click()
    await expect(invite).to_be_hidden()
    await expect(ana.locator("#messages")).to_contain_text("Invitation sent to bob@other.example")
    pending = ana.locator('#members tr[data-invitation="bob@other.example"]')
    await expect(pending).to_contain_text("Invited, expires")

    invitation = await smtp_server.find("bob@other.example", "has invited you")
    assert invitation["Subject"] == "Ana Novak has invited you to shared acme.example organization"

    bob_context = await browser.new_context(ignore_https_errors=True)
    try:
        bob = await bob_context.new_page()
        await register_and_log_in(hub, bob, smtp_server, "Bob Smith", "bob@other.example")
        await bob.goto(local(hub, link_in(invitation)))
        await expect(bob.get_by_role("heading", name="Join acme.example")).to_be_visible()
        await bob.get_by_role("button", name="Accept invitation").click()
        await bob.wait_for_url(hub.url + "/organizations")
        # Accepting selects the organization just joined.
        await expect(bob.locator("#org-name")).to_have_text("acme.example")
        await bob.goto(hub.url + "/")
        await expect(bob.locator("body")).to_have_attribute("data-live", "open")

        await ana.reload()
        member_row = ana.locator("#members tr", has_text="bob@other.example")
        await expect(member_row).to_contain_text("Member")
        await member_row.get_by_role("button", name="Remove").click()
        removal_dialog = ana.get_by_role("dialog", name="Remove bob@other.example from acme")
        await expect(removal_dialog).to_contain_text("lose access")
        await removal_dialog.get_by_role("button", name="Remove").click()
        await expect(member_row).to_have_count(0)
        await expect(ana.locator("#messages")).to_contain_text("bob@other.example was removed")

        await expect(bob.get_by_role("alert")).to_have_text(
            "You no longer have access to acme.example."
        )
        removal = await smtp_server.find("bob@other.example", "removed")
        assert removal["Subject"] == "You were removed from acme.example in MyKerio"
        acme_group = bob.locator("#appliances tbody.org-group", has_text="acme.example")
        await expect(acme_group).to_have_count(0)
        await bob.goto(hub.url + "/organizations")
        await expect(bob.locator("#org-switcher")).to_contain_text("other.example")
        await expect(bob.locator("#org-switcher")).not_to_contain_text("acme.example")
    finally:
        await bob_context.close()


async def test_create_rename_and_delete_with_confirmation(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Creating, renaming and deleting an organization; the dialog says what is lost and kept;
    leaving as the last member explains why not."""
    page = await page_context.new_page()
    await register_and_log_in(hub, page, smtp_server, "Ana Novak", "ana@acme.example")
    await page.goto(hub.url + "/organizations")
    await page.get_by_role("button", name="New organization").click()
    create = page.get_by_role("dialog", name="New Organization")
    await create.get_by_role("button", name="Create").click()
    await expect(create.get_by_role("alert")).to_have_text("Enter a name for the organization.")
    await page.keyboard.press("Escape")
    await expect(create).to_be_hidden()
    await expect(page.get_by_role("button", name="New organization")).to_be_focused()
    await page.get_by_role("button", name="New organization").click()
    await create.get_by_label("Organization name").fill("Branch Office")
    await create.get_by_role("button", name="Create").click()
    await expect(page.locator("#org-name")).to_have_text("Branch Office")
    clock.advance(1)  # the activity log orders by time
    await page.get_by_role("button", name="Rename…").click()
    dialog = page.get_by_role("dialog", name="Rename Branch Office")
    field = dialog.get_by_label("New name")
    await expect(field).to_be_focused()
    await field.fill("")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.get_by_role("alert")).to_have_text("Enter a name for the organization.")
    await field.fill("Prague Office " + "x" * 100)
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.get_by_role("alert")).to_contain_text("at most 100 characters")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#org-name")).to_have_text("Branch Office")
    await page.get_by_role("button", name="Rename…").click()
    await field.fill("Prague Office")
    await dialog.get_by_role("button", name="Save").click()
    await expect(page.locator("#org-name")).to_have_text("Prague Office")
    activity = page.locator("#activity tbody tr")
    await expect(activity.first).to_contain_text("Organization renamed")
    await (
        page.locator("#activity-filter")
        .get_by_label("Action")
        .select_option("organization_created")
    )
    await page.locator("#activity-filter").get_by_role("button", name="Filter").click()
    await expect(activity).to_have_count(1)
    await expect(activity.first).to_contain_text("Organization created")
    await page.get_by_role("button", name="Leave organization").click()
    await expect(page.get_by_role("alert")).to_contain_text("Delete the organization instead")
    await page.get_by_role("button", name="Delete organization…").click()
    dialog = page.get_by_role("dialog", name="Delete Prague Office?")
    await expect(dialog).to_contain_text("1 member's access")
    await expect(dialog).to_contain_text("This is kept")
    await dialog.get_by_role("button", name="Delete organization").click()
    await expect(page.locator("#org-switcher")).not_to_contain_text("Prague Office")
    await expect(page.locator("#org-name")).to_have_text("acme.example")


async def test_invitation_page_offers_accept_only_when_it_can_work(
    hub: Hub, browser: Browser, page_context: BrowserContext, smtp_server: LoopbackSmtp
) -> None:
    """Logged in as someone else, Bob's invitation page says whose it is and offers no Accept;
    Carol's own invitation, revoked while her page is open, then says it is no longer valid."""
    ana = await page_context.new_page()
    await register_and_log_in(hub, ana, smtp_server, "Ana Novak", "ana@acme.example")
    await ana.goto(hub.url + "/organizations")
    for email in ("bob@other.example", "carol@other.example"):
        await ana.get_by_role("button", name="Invite…").click()
        await ana.get_by_role("dialog", name="Invite a user").get_by_label("Email").fill(email)
        await ana.get_by_role("button", name="Send invitation").click()
        await expect(ana.locator(f'#members tr[data-invitation="{email}"]')).to_be_visible()
    for_bob = await smtp_server.find("bob@other.example", "has invited you")
    for_carol = await smtp_server.find("carol@other.example", "has invited you")

    carol_context = await browser.new_context(ignore_https_errors=True)
    try:
        carol = await carol_context.new_page()
        await register_and_log_in(hub, carol, smtp_server, "Carol Day", "carol@other.example")
        await carol.goto(local(hub, link_in(for_bob)))
        await expect(carol.get_by_role("heading")).to_have_text(
            "This invitation is for another account"
        )
        await expect(carol.locator("#invitation-text")).to_contain_text(
            "you are logged in as carol@other.example. Log out and log in as bob@other.example"
        )
        await expect(carol.get_by_role("button", name="Accept invitation")).to_be_hidden()

        await carol.goto(hub.url + "/")
        await carol.goto(local(hub, link_in(for_carol)))
        await expect(carol.get_by_role("button", name="Accept invitation")).to_be_visible()
        revoke = ana.locator('#members tr[data-invitation="carol@other.example"]')
        await revoke.get_by_role("button", name="Revoke").click()
        await expect(revoke).to_have_count(0)
        await carol.get_by_role("button", name="Accept invitation").click()
        await expect(carol.get_by_role("heading")).to_have_text(
            "This invitation is no longer valid"
        )
        await expect(carol.get_by_role("button", name="Accept invitation")).to_be_hidden()
        await carol.goto(hub.url + "/")
        await carol.goto(local(hub, link_in(for_carol)))
        await expect(carol.get_by_role("heading")).to_have_text(
            "This invitation is no longer valid"
        )
        await expect(carol.get_by_role("button", name="Accept invitation")).to_be_hidden()
    finally:
        await carol_context.close()
