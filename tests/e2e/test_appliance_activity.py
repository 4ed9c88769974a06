"""In Chromium: the add dialog refuses a name with a control character by the hub's rule, and
a replaced appliance connection shows in the activity log in words, with both addresses."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from tests.e2e.test_organizations import register_and_log_in
from tests.smtp_server import LoopbackSmtp
from tests.web.test_appliances import appliance_for
from web.hub import Hub


async def test_name_rule_in_the_add_dialog_and_a_replaced_connection_in_the_log(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp
) -> None:
    """A DEL in the name (or U+009B in Rename) shows the rule's message and changes nothing;
    a good name adds it; a second socket from 127.0.0.2 is then listed as "Appliance
    connection replaced"."""
    page = await page_context.new_page()
    await register_and_log_in(hub, page, smtp_server, "Ana Novak", "ana@acme.example")
    first = appliance_for(hub)
    pairing = await first.connect()
    await page.goto(f"{hub.url}/appliances/add#code={pairing.body['code']}")
    form = page.locator("#add-form")
    await page.get_by_label("Name").fill("Brno\x7fgateway")
    await page.get_by_role("button", name="Add").click()
    await expect(form.locator(".error")).to_have_text(
        "A name cannot contain control characters (such as tabs, line breaks, DEL or U+009B)."
    )
    await expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    await page.get_by_label("Name").fill("  Brno   gateway ")
    await page.get_by_role("button", name="Add").click()
    row = page.locator("#appliances tbody tr", has_text="Brno gateway")
    assert (await first.receive()).type == "welcome"
    await first.status()
    await expect(row).to_have_attribute("data-status", "green")
    await row.get_by_role("button", name="Rename").click()
    dialog = page.get_by_role("dialog", name="Rename Brno gateway")
    await dialog.get_by_label("New name").fill("Brno\u009bgateway")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.get_by_role("alert")).to_have_text(
        "A name cannot contain control characters (such as tabs, line breaks, DEL or U+009B)."
    )
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    second = appliance_for(hub)
    second.private_pem, second.public_key = first.private_pem, first.public_key
    second.source = "127.0.0.2"
    assert (await second.connect()).type == "welcome"
    assert await first.closed() == 4002
    await second.status(low_memory=True)  # told after the replacement was recorded
    await expect(row).to_have_attribute("data-status", "yellow")

    await page.get_by_role("link", name="Organizations").click()
    await (
        page.locator("#activity-filter")
        .get_by_label("Action")
        .select_option(label="Appliance connection replaced")
    )
    await page.locator("#activity-filter").get_by_role("button", name="Filter").click()
    activity = page.locator("#activity tbody tr")
    await expect(activity).to_have_count(1)
    await expect(activity.first).to_contain_text("Appliance connection replaced")
    await expect(activity.first).to_contain_text("The appliance")
    await expect(activity.first).to_contain_text(
        "Brno gateway: the connection from 127.0.0.1 was replaced by one from 127.0.0.2"
    )
    second.close()
