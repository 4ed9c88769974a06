"""Tests of the listener: slow clients are closed, and links use the address actually served."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mykerio.clock import FakeClock
from tests.conftest import api_session, hub_config_for, running_hub
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import link_in
from web.hub import Hub, served_url


@pytest.fixture
async def strict_hub(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> AsyncIterator[Hub]:
    """A hub whose header and body timeouts are one second."""
    config = hub_config_for(
        tmp_path,
        smtp_server,
        sms_gateway,
        **{"server.idle_timeout": 1.0, "server.body_timeout": 1.0},
    )
    async with running_hub(config, clock) as hub:
        yield hub


async def _open(hub: Hub) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    context = ssl.create_default_context(cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    return await asyncio.open_connection(
        "localhost", hub.port, ssl=context, server_hostname="localhost"
    )


async def _trickle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes
) -> float:
    """Send `data` one byte a second (in real time: the listener's timers are real) until the
    hub closes the connection; the seconds it stayed open."""
    started = time.monotonic()
    closed = asyncio.ensure_future(reader.read())
    for byte in data:
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except (ConnectionError, ssl.SSLError):
            break
        done, _ = await asyncio.wait({closed}, timeout=1.0)
        if done:
            break
    else:
        closed.cancel()
        raise AssertionError("the hub kept the slow connection open")
    writer.close()
    return time.monotonic() - started


async def test_headers_sent_a_byte_a_second_are_cut_off(strict_hub: Hub) -> None:
    """A client sending its request headers at 1 byte/s is closed after `server.idle_timeout`."""
    reader, writer = await _open(strict_hub)
    headers = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 30 + b"\r\n\r\n"
    assert await _trickle(reader, writer, headers) < 4


async def test_body_sent_a_byte_a_second_is_cut_off(strict_hub: Hub) -> None:
    """A client sending its body at 1 byte/s after prompt headers is closed after body_timeout."""
    reader, writer = await _open(strict_hub)
    writer.write(
        b"POST /api/v1/sessions HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: 40\r\n\r\n"
    )
    await writer.drain()
    assert await _trickle(reader, writer, b"{" + b" " * 38 + b"}") < 4


async def test_emailed_links_use_the_port_actually_served(
    hub: Hub, smtp_server: LoopbackSmtp
) -> None:
    """Without `hub.public_url`, emailed links point at the port the hub bound (not 8443)."""
    assert hub.port != 8443
    assert hub.config.hub.public_url == f"https://localhost:{hub.port}"
    api = api_session(hub)
    await api.post(
        "/api/v1/registrations",
        {"full_name": "Ana Novak", "email": "ana@acme.example", "password": "Tulip-Harbour-42"},
    )
    (mail,) = await smtp_server.wait_for(1)
    assert link_in(mail).startswith(f"https://localhost:{hub.port}/confirm#token=")


async def test_an_explicit_public_url_wins(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> None:
    """A configured `hub.public_url` (a reverse proxy's address) is used as it is."""
    config = hub_config_for(
        tmp_path, smtp_server, sms_gateway, **{"hub.public_url": "https://hub.example.com"}
    )
    async with running_hub(config, clock) as hub:
        assert hub.config.hub.public_url == "https://hub.example.com"


def test_the_derived_url_follows_host_tls_and_port(tmp_path: Path) -> None:
    """Loopback hosts become localhost, a plain listener http, the default port is left out."""
    from mykerio.config import load_config

    def derived(host: str, tls: bool, port: int) -> str:
        config = load_config(overrides={"server.host": host, "server.tls": tls})
        return served_url(config, port)

    assert derived("127.0.0.1", True, 9443) == "https://localhost:9443"
    assert derived("::1", False, 8080) == "http://localhost:8080"
    assert derived("192.0.2.7", True, 443) == "https://192.0.2.7"
    assert derived("2001:db8::1", True, 9443) == "https://[2001:db8::1]:9443"
