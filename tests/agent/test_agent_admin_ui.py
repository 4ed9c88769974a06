"""Tests of mykerio/agent/admin_ui.py and admin_page.py: the settings page and its JSON API."""

from __future__ import annotations

import json
import re

import pytest

from mykerio.protocol.status import KNOB_NAMES
from tests.agent.conftest import Start
from tests.agent.fake_hub import Added, FakeHub


async def test_the_settings_page_shows_the_mykerio_screen(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """The page has the checkbox, the status text, the add link and every knob's checkbox."""
    device = appliance()
    view = await device.wait_phase("pairing")
    response = await device.get("/")
    assert response.code == 200
    page = response.body.decode()
    assert "Enable communication with MyKerio" in page
    assert re.search(r'id="enabled"\s+checked', page)
    assert "Not added yet: open https://hub.example.com/appliances/add#code=" in page
    assert f'href="{view.add_link}"' in page
    assert "Remove from MyKerio" in page
    for name in KNOB_NAMES:
        assert f'data-knob="{name}"' in page
    assert "Low memory" in page
    assert "Software maintenance expired" in page


async def test_the_page_is_csp_safe(fake_hub: FakeHub, appliance: Start) -> None:
    """A strict CSP without inline script or style, and the page uses none."""
    device = appliance()
    response = await device.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.body.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts
    assert all('src="/static/' in attributes and not body.strip() for attributes, body in scripts)
    assert "<style" not in page
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers
    assert 'style="' not in page


async def test_the_script_and_style_sheet_are_served(fake_hub: FakeHub, appliance: Start) -> None:
    """`/static/settings.js` and `.css` come with their content types; other names are 404."""
    device = appliance()
    script = await device.get("/static/settings.js")
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert b"/api/enable" in script.body
    style = await device.get("/static/settings.css")
    assert style.headers["Content-Type"].startswith("text/css")
    missing = await device.get("/static/other.js")
    assert missing.code == 404
    assert json.loads(missing.body)["error"]["code"] == "not_found"


async def test_the_state_api_describes_the_appliance(fake_hub: FakeHub, appliance: Start) -> None:
    """`GET /api/state` names the phase, texts, ids, product and all seven knobs."""
    device = appliance()
    fake_hub.add(device.store.public_key, Added("a1", "Office", "example.com"))
    await device.wait_phase("linked")
    state = await device.api_state()
    assert state["phase"] == "linked"
    assert state["connected"] is True
    assert state["enabled"] is True
    assert (state["name"], state["organization"], state["appliance_id"]) == (
        "Office",
        "example.com",
        "a1",
    )
    assert state["knobs"] == dict.fromkeys(KNOB_NAMES, False)
    assert (state["product"], state["version"], state["host_name"]) == (
        "control",
        "9.4.0",
        "gw-brno",
    )
    assert state["public_key_id"] == device.store.key_id
    assert state["backups"] == {
        "enabled": True,
        "every_hours": 0,
        "state": "ok",
        "message": "",
        "stored": 0,
    }


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "code"),
    [
        ("/api/knobs", {"no_such_knob": True}, {}, 400, "invalid_input"),
        ("/api/knobs", {"low_memory": "yes"}, {}, 400, "invalid_input"),
        ("/api/knobs", [1, 2], {}, 400, "invalid_input"),
        ("/api/enable", {"enabled": 1}, {}, 400, "invalid_input"),
        ("/api/backups", {"enabled": "no"}, {}, 400, "invalid_input"),
        ("/api/enable", {"enabled": True}, {"Content-Type": "text/plain"}, 415, None),
        ("/api/enable", {"enabled": True}, {"Origin": "https://evil.example"}, 403, None),
        ("/api/remove", {}, {}, 409, "conflict"),
    ],
)
async def test_the_api_refuses_bad_requests(
    fake_hub: FakeHub,
    appliance: Start,
    path: str,
    body: object,
    headers: dict[str, str],
    status: int,
    code: str | None,
) -> None:
    """Unknown knobs, wrong types, non-JSON or cross-origin posts are refused and change nothing."""
    device = appliance()
    await device.wait_phase("pairing")
    response = await device.post(path, body, **headers)
    assert response.code == status
    error = json.loads(response.body)["error"]
    assert code is None or error["code"] == code
    assert error["message"]
    assert device.store.state.enabled
    assert device.store.state.knobs == device.link.view.knobs


async def test_knobs_and_enable_answer_the_new_state(fake_hub: FakeHub, appliance: Start) -> None:
    """`POST /api/knobs` and `/api/enable` answer with the state after the change."""
    device = appliance()
    await device.wait_phase("pairing")
    knobs = json.loads((await device.post("/api/knobs", {"update_available": True})).body)
    assert knobs["knobs"]["update_available"] is True
    disabled = json.loads((await device.post("/api/enable", {"enabled": False})).body)
    assert (disabled["enabled"], disabled["connected"], disabled["link"]) == (False, False, None)
    page = (await device.get("/")).body.decode()
    assert re.search(r'id="enabled"\s+>', page)
    assert re.search(r'data-knob="update_available"\s+checked', page)


async def test_save_configuration_to_mykerio_can_be_unticked(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """`POST /api/backups` ticks or unticks the switch; the page shows it."""
    device = appliance()
    answer = await device.post("/api/backups", {"enabled": False})
    assert answer.code == 200
    assert json.loads(answer.body)["backups"]["enabled"] is False
    assert not device.link.backups.back_up_now()  # (and nothing is uploaded)
    page = (await device.get("/")).body.decode()
    assert "checked" not in page.split('id="backups"')[1].split(">")[0]
