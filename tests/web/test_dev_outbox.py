"""Without SMTP settings mail stays on the machine and a development page lists it."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from mykerio.config import load_config
from tests.conftest import api_session
from web.hub import Hub


@pytest.fixture
async def dev_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    async with dev_hub_with(tmp_path) as running:
        yield running


@contextlib.asynccontextmanager
async def dev_hub_with(tmp_path: Path, **extra: object) -> AsyncIterator[Hub]:
    """A development hub without SMTP, with `extra` settings on top."""
    config = load_config(
        overrides={
            "server.port": 0,
            "hub.data_dir": str(tmp_path / "data"),
            "hub.dev_mode": True,
            "accounts.password_hash_memory_kib": 19456,
            "accounts.password_hash_iterations": 2,
            **extra,
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


def non_loopback_address() -> str:
    """An address of this machine that is not loopback (the one a route out would use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # UDP: chooses a route, sends nothing
        except OSError:
            return ""
        address: str = probe.getsockname()[0]
    return "" if address.startswith("127.") else address


async def test_outbox_page_answers_only_loopback_clients(tmp_path: Path) -> None:
    """On a hub listening everywhere and trusting X-Forwarded-For, a client on another address
    is refused even when it claims to be 127.0.0.1; a loopback client is served whatever its
    headers say."""
    address = non_loopback_address()
    if not address:
        pytest.skip("this machine has no non-loopback IPv4 address")
    everywhere = {"server.host": "0.0.0.0", "server.xheaders": True}  # noqa: S104  # on purpose
    async with dev_hub_with(tmp_path, **everywhere) as hub:
        http = AsyncHTTPClient()
        forged = {"X-Forwarded-For": "127.0.0.1", "X-Real-Ip": "127.0.0.1"}
        remote = HTTPRequest(
            f"https://{address}:{hub.port}/dev/outbox", headers=forged, validate_cert=False
        )
        refused = await http.fetch(remote, raise_error=False)
        assert refused.code == 403
        assert b"only on this machine" in refused.body
        assert b"Development outbox" not in refused.body

        cafile = str(hub.config.data_dir / "tls" / "cert.pem")
        local = HTTPRequest(
            f"https://127.0.0.1:{hub.port}/dev/outbox",
            headers={"X-Forwarded-For": "203.0.113.9", "Host": f"localhost:{hub.port}"},
            ssl_options=ssl.create_default_context(cafile=cafile),
        )
        served = await http.fetch(local, raise_error=False)
        assert served.code == 200, served.body
        assert b"Development outbox" in served.body
