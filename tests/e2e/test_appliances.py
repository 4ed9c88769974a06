"""Adding a simulated appliance from its "add this appliance" link, in Chromium, with the
simulator running as its own process; its status knobs then recolour the dashboard live."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from playwright.async_api import BrowserContext, expect

from tests.e2e.test_organizations import PASSWORD, local, register_and_log_in
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import link_in
from web.hub import Hub


async def read_until(stream: asyncio.StreamReader, pattern: str) -> re.Match[str]:
    """The first line of the simulator's output matching `pattern` (bounded)."""
    async with asyncio.timeout(20):
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError("the simulator exited")
            found = re.search(pattern, line)
            if found:
                return found


async def start_simulator(hub: Hub, tmp_path: Path, *flags: str) -> asyncio.subprocess.Process:
    """`python -m mykerio.agent` as its own process, trusting the hub; its stdout is piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mykerio.agent",
        "--hub",
        hub.url,
        "--state",
        str(tmp_path / "box"),
        "--cafile",
        str(hub.config.data_dir / "tls" / "cert.pem"),
        *flags,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def test_add_a_simulated_appliance_from_its_link(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """The simulator shows its add link; a member opens it, names the appliance and adds it;
    the simulator says Ready and the dashboard shows it green, then yellow for low memory."""
    page = await page_context.new_page()
    await register_and_log_in(hub, page, smtp_server, "Ana Novak", "ana@acme.example")
    simulator = await start_simulator(hub, tmp_path, "--ui-port", "0", "--name", "gw-brno")
    try:
        assert simulator.stdout is not None
        ui = (await read_until(simulator.stdout, r"Admin UI: (\S+)")).group(1)
        link = (await read_until(simulator.stdout, r"(https://\S+/appliances/add#code=\S+)")).group(
            1
        )
        # The hub's public URL names the default port; this test's hub has its own.
        await page.goto(hub.url + "/" + link.split("/", 3)[3])
        await expect(page.get_by_role("heading", name="Add a New Appliance")).to_be_visible()
        await expect(page.locator("#add-about")).to_contain_text("Kerio Control 9.4.0")
        await expect(page.get_by_label("Name")).to_have_value("gw-brno")
        await page.get_by_label("Name").fill("Brno gateway")
        await page.get_by_role("button", name="Add").click()
        await expect(page.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()
        row = page.locator("#appliances tbody tr", has_text="Brno gateway")
        await expect(row).to_have_attribute("data-status", "green")
        await expect(row).to_contain_text("Kerio Control 9.4.0")

        box = await page_context.new_page()
        await box.goto(ui)
        await expect(box.locator("#status-text")).to_have_text(
            "Ready. You can manage this Kerio Control in MyKerio"
        )
        await box.locator('[data-knob="low_memory"]').check()
        await expect(row).to_have_attribute("data-status", "yellow")
        await expect(row).to_contain_text("1 notification pending")
        await expect(row.locator(".bullet")).to_have_attribute("title", "Low memory")
        await row.get_by_role("button", name="History").click()
        dialog = page.locator("dialog#history")
        await expect(dialog).to_be_visible()
        await expect(dialog.get_by_role("heading")).to_have_text("Status history of Brno gateway")
        await expect(dialog.locator("tbody tr")).to_have_count(2)
        await expect(dialog.locator("tbody tr").first).to_have_attribute("data-status", "yellow")
        await expect(dialog.locator("tbody tr").first).to_contain_text("Low memory")
        await dialog.get_by_role("button", name="Close").click()
        await expect(dialog).to_be_hidden()
    finally:
        simulator.terminate()
        async with asyncio.timeout(10):
            await simulator.wait()


async def test_the_add_link_survives_registration_confirmation_and_login(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Logged out, the add link leads to the login page; the visitor registers, confirms in
    another tab, logs in there, and the Add dialog shows the appliance, which adds green."""
    simulator = await start_simulator(hub, tmp_path, "--name", "gw-brno")
    try:
        assert simulator.stdout is not None
        link = (await read_until(simulator.stdout, r"(https://\S+/appliances/add#code=\S+)")).group(
            1
        )
        page = await page_context.new_page()
        await page.goto(local(hub, link))
        await expect(page.get_by_role("heading", name="Log in to MyKerio")).to_be_visible()
        assert page.url.startswith(hub.url + "/login?next=/appliances/add")
        await expect(page.locator("#pending-appliance")).to_contain_text("to add the appliance")
        await page.get_by_role("link", name="Create an account").click()
        await expect(page.locator("#pending-appliance")).to_be_visible()
        await page.get_by_label("Full name").fill("Ana Novak")
        await page.get_by_label("Email").fill("ana@acme.example")
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

        # The mail client opens the confirmation link in a new tab.
        mail = await smtp_server.find("ana@acme.example", "Confirm your MyKerio account")
        tab = await page_context.new_page()
        await tab.goto(local(hub, link_in(mail)))
        await expect(tab.locator("#confirm-status")).to_contain_text("is confirmed")
        await tab.get_by_role("link", name="Log in").click()
        await tab.get_by_label("Email").fill("ana@acme.example")
        await tab.get_by_label("Password", exact=True).fill(PASSWORD)
        await tab.get_by_role("button", name="Log in").click()
        await expect(tab.get_by_role("heading", name="Add a New Appliance")).to_be_visible()
        await expect(tab.locator("#add-about")).to_contain_text("Kerio Control 9.4.0")
        await expect(tab.get_by_label("Name")).to_have_value("gw-brno")
        await tab.get_by_role("button", name="Add").click()
        await expect(tab.get_by_role("heading", name="Appliances", exact=True)).to_be_visible()
        row = tab.locator("#appliances tbody tr", has_text="gw-brno")
        await expect(row).to_have_attribute("data-status", "green")
        # Used once: the next login goes to the dashboard.
        assert await tab.evaluate("localStorage.length") == 0
    finally:
        simulator.terminate()
        async with asyncio.timeout(10):
            await simulator.wait()


async def test_rename_an_appliance_in_a_dialog(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Rename opens a labelled modal dialog with the name rule; a blank or too long name shows
    the hub's message and keeps the dialog open; Escape cancels; a good name renames the row."""
    page = await page_context.new_page()
    await register_and_log_in(hub, page, smtp_server, "Ana Novak", "ana@acme.example")
    simulator = await start_simulator(hub, tmp_path, "--name", "gw-brno")
    try:
        assert simulator.stdout is not None
        link = (await read_until(simulator.stdout, r"(https://\S+/appliances/add#code=\S+)")).group(
            1
        )
        await page.goto(local(hub, link))
        await page.get_by_role("button", name="Add").click()
        row = page.locator("#appliances tbody tr", has_text="gw-brno")
        await expect(row).to_have_attribute("data-status", "green")

        await row.get_by_role("button", name="Rename").click()
        dialog = page.get_by_role("dialog", name="Rename gw-brno")
        await expect(dialog).to_be_visible()
        field = dialog.get_by_label("New name")
        await expect(field).to_be_focused()
        await expect(field).to_have_value("gw-brno")
        await expect(dialog).to_contain_text("1 to 100 characters")
        await field.fill("   ")
        await dialog.get_by_role("button", name="Save").click()
        await expect(dialog.get_by_role("alert")).to_have_text("Enter a name for the appliance.")
        await expect(field).to_have_attribute("aria-invalid", "true")
        await field.fill("x" * 101)
        await dialog.get_by_role("button", name="Save").click()
        await expect(dialog.get_by_role("alert")).to_have_text(
            "A name can have at most 100 characters."
        )
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await expect(row.get_by_role("button", name="Rename")).to_be_focused()
        await expect(row).to_contain_text("gw-brno")

        await row.get_by_role("button", name="Rename").click()
        await expect(dialog.get_by_role("alert")).to_be_hidden()
        await field.fill("Brno gateway")
        await field.press("Enter")
        await expect(dialog).to_be_hidden()
        await expect(page.locator("#appliances tbody tr", has_text="Brno gateway")).to_be_visible()
    finally:
        simulator.terminate()
        async with asyncio.timeout(10):
            await simulator.wait()


async def test_add_a_kerio_control_box_by_serial(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """A factory box (simulator --serial) waits; "Add new appliance" finds it by serial, shows
    its type and IP, sets up a new administrator, takes the EULA, names it; the row is grey
    until the box has restarted, then green, and the box says Ready."""
    page = await page_context.new_page()
    await register_and_log_in(hub, page, smtp_server, "Ana Novak", "ana@acme.example")
    simulator = await start_simulator(
        hub, tmp_path, "--serial", "SRLNMR123456", "--setup-restart", "2", "--name", "box-brno"
    )
    try:
        assert simulator.stdout is not None
        ui = (await read_until(simulator.stdout, r"Admin UI: (\S+)")).group(1)
        await read_until(simulator.stdout, r"/appliances/add#code=")
        await page.get_by_role("button", name="Add new appliance").click()
        add = page.get_by_role("dialog", name="Add a New Appliance")
        await expect(add).to_contain_text("add this appliance")
        await add.get_by_role("link", name="Find this appliance").click()
        await expect(page.get_by_role("heading", name="Add new appliance")).to_be_visible()
        await page.get_by_label("Serial number").fill("SRLNMR123456")
        await page.get_by_role("button", name="Find this appliance").click()
        await expect(page.locator("#box-found")).to_contain_text(
            "Kerio Control box SRLNMR123456, version 9.4.0, connected from 127.0.0.1"
        )
        await page.get_by_label("Set up a new administrator").check()
        await page.get_by_label("User name").fill("admin")
        await page.get_by_label("Password", exact=True).fill("Brno-box-2026!")
        await page.get_by_label("Confirm password").fill("Brno-box-2026?")
        await page.get_by_label("Administrator's email").fill("it@acme.example")
        await page.get_by_role("button", name="Next").click()
        await expect(page.locator("#step-setup .error")).to_have_text("The passwords do not match.")
        await page.get_by_label("Confirm password").fill("Brno-box-2026!")
        await page.locator("#step-setup").get_by_role("button", name="Next").click()
        await page.locator("#step-terms").get_by_role("button", name="Next").click()
        await expect(page.locator("#step-terms .error")).to_contain_text("Accept the Privacy")
        await page.get_by_label("I accept the Privacy Policy").check()
        await page.locator("#step-terms").get_by_role("button", name="Next").click()
        await expect(page.get_by_label("Name", exact=True)).to_have_value("box-brno")
        await page.get_by_label("Name", exact=True).fill("Brno box")
        await page.get_by_role("button", name="Finish").click()
        await expect(page.locator("#box-done")).to_contain_text("Brno box is added")

        dashboard = await page_context.new_page()
        await dashboard.goto(hub.url + "/")
        row = dashboard.locator("#appliances tbody tr", has_text="Brno box")
        await expect(row).to_be_visible()
        # Grey while the box restarts (2 s), then green without a reload.
        await expect(row).to_have_attribute("data-status", "green", timeout=15_000)
        await expect(row).to_contain_text("Kerio Control 9.4.0")
        box = await page_context.new_page()
        await box.goto(ui)
        await expect(box.locator("#status-text")).to_have_text(
            "Ready. You can manage this Kerio Control in MyKerio"
        )
        await expect(box.locator("#box-admin")).to_have_text("admin")
    finally:
        simulator.terminate()
        async with asyncio.timeout(10):
            await simulator.wait()


async def test_box_set_up_checks_existing_credentials_before_the_next_step(
    hub: Hub, page_context: BrowserContext, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """A box with a local administrator (simulator --admin): a wrong password is refused at the
    Set up step with the box's reason, and the right one moves on to the terms."""
    page = await page_context.new_page()
    await register_and_log_in(hub, page, smtp_server, "Ana Novak", "ana@acme.example")
    simulator = await start_simulator(
        hub, tmp_path, "--serial", "SRLNMR123456", "--admin", "admin:Brno-box-2026!"
    )
    try:
        assert simulator.stdout is not None
        await read_until(simulator.stdout, r"/appliances/add#code=")
        await page.goto(hub.url + "/appliances/add-box")
        await page.get_by_label("Serial number").fill("SRLNMR123456")
        await page.get_by_role("button", name="Find this appliance").click()
        await expect(page.locator("#box-found")).to_contain_text("SRLNMR123456")
        await page.get_by_label("Use the box's existing local administrator").check()
        await page.get_by_label("User name").fill("admin")
        await page.get_by_label("Password", exact=True).fill("not-the-password")
        await page.locator("#step-setup").get_by_role("button", name="Next").click()
        await expect(page.locator("#step-setup .error")).to_contain_text(
            "user name or password is not correct"
        )
        await expect(page.locator("#step-terms")).to_be_hidden()
        await page.get_by_label("Password", exact=True).fill("Brno-box-2026!")
        await page.locator("#step-setup").get_by_role("button", name="Next").click()
        await expect(page.locator("#step-terms")).to_be_visible()
        await expect(page.locator("#step-setup")).to_be_hidden()
    finally:
        simulator.terminate()
        async with asyncio.timeout(10):
            await simulator.wait()
