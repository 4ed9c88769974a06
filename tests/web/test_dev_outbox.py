"""Without SMTP settings mail stays on the machine and a development page lists it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mykerio.config import load_config
from tests.conftest import api_session
from web.hub import Hub


@pytest.fixture
async def dev_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    config = load_config(
        overrides={
            "server.port": 0,
            "hub.data_dir": str(tmp_path / "data"),
            "hub.dev_mode": True,
            "accounts.password_hash_memory_kib": 19456,
            "accounts.password_hash_iterations": 2,
        }
    )
    running = Hub(config)
    await running.start()
    try:
        yield running
    finally:
        await running.stop(deadline=5)


async def test_confirmation_link_is_on_the_outbox_page(dev_hub: Hub) -> None:
    """A new user of a hub without SMTP finds the confirmation email, with a working link, on
    /dev/outbox; the message is also an .eml file in the data directory."""
    api = api_session(dev_hub)
    registered = await api.post(
        "/api/v1/registrations",
        {"full_name": "Ana Novak", "email": "ana@acme.example", "password": "Tulip-Harbour-42"},
    )
    assert registered.status == 201
    page = (await api.get("/dev/outbox")).raw.decode()
    assert "Confirm your MyKerio account" in page
    link = re.search(rf'href="({dev_hub.url}/confirm#token=[^"]+)"', page)
    assert link, page
    token = link.group(1).split("token=")[1]
    confirmed = await api.post("/api/v1/registrations/confirm", {"token": token})
    assert confirmed.status == 200
    files = list((dev_hub.config.data_dir / "outbox").glob("*.eml"))
    assert len(files) == 1


async def test_login_sms_goes_to_a_file_without_a_gateway(dev_hub: Hub) -> None:
    """Without an SMS gateway, texts are appended to sms.jsonl in the outbox directory."""
    api = api_session(dev_hub)
    await api.post(
        "/api/v1/registrations",
        {"full_name": "Ana Novak", "email": "ana@acme.example", "password": "Tulip-Harbour-42"},
    )
    page = (await api.get("/dev/outbox")).raw.decode()
    token = re.search(r"confirm#token=([A-Za-z0-9_-]+)", page).group(1)  # type: ignore[union-attr]
    await api.post("/api/v1/registrations/confirm", {"token": token})
    await api.post(
        "/api/v1/sessions", {"email": "ana@acme.example", "password": "Tulip-Harbour-42"}
    )
    sent = await api.post("/api/v1/me/phone", {"phone": "+18005550199"})
    assert sent.status == 200
    lines = (dev_hub.config.data_dir / "outbox" / "sms.jsonl").read_text().splitlines()
    assert '"to": "+18005550199"' in lines[-1]


async def test_outbox_page_exists_only_in_development(hub: Hub) -> None:
    """A production hub (or one with SMTP) has no outbox page."""
    assert (await api_session(hub).get("/dev/outbox")).status == 404
