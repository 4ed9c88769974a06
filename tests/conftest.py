"""Fixtures shared by every test package: real servers on loopback.

`hub` is a real hub on a loopback port (embedded store in a temporary data directory) and
`client` an HTTPS client that trusts its self-signed certificate.

`mongo_server_uri` is a MongoDB-wire server for the MongoDB store. If `MYKERIO_TEST_MONGO_URI`
is set (a server URI without a database, e.g. `mongodb://127.0.0.1:27017`), that server is
used; otherwise the fixture runs FerretDB 1.24 (SQLite backend) from
`.cache/bin/ferretdb-test`, building it from `tests/ferretdb` with `go build` when missing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse

from mykerio.clock import FakeClock
from mykerio.config import Config, load_config
from tests.api_client import ApiSession
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from web.hub import Hub

REPO = Path(__file__).resolve().parent.parent

FERRETDB_BINARY = REPO / ".cache" / "bin" / "ferretdb-test"
FERRETDB_SOURCE = REPO / "tests" / "ferretdb"
START_DEADLINE_SECONDS = 30.0


def _free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _build_ferretdb() -> None:
    """Build the FerretDB launcher in `tests/ferretdb` into `FERRETDB_BINARY`."""
    FERRETDB_BINARY.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            ["go", "build", "-o", str(FERRETDB_BINARY), "."],
            cwd=FERRETDB_SOURCE,
            check=True,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as error:
        pytest.fail(f"cannot build FerretDB for the MongoDB store tests: {error}")


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Return once `port` accepts connections; fail with the server's log if it never does."""
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            # Nothing to await on a child's listen(); a short poll within the deadline is it.
            time.sleep(0.05)
    exit_code = process.poll()
    reason = (
        f"within {START_DEADLINE_SECONDS:.0f} s"
        if exit_code is None
        else f"before exiting with code {exit_code}"
    )
    pytest.fail(
        f"FerretDB did not listen on 127.0.0.1:{port} {reason}; its log:\n"
        + log.read_text(errors="replace")
    )


@pytest.fixture(scope="session")
def mongo_server_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URI (no database) of a MongoDB-wire server that lives for the whole session."""
    configured = os.environ.get("MYKERIO_TEST_MONGO_URI")
    if configured:
        yield configured
        return
    if not FERRETDB_BINARY.exists():
        _build_ferretdb()
    workdir = tmp_path_factory.mktemp("ferretdb")
    port = _free_loopback_port()
    log = workdir / "ferretdb.log"
    command = [str(FERRETDB_BINARY), "-listen", f"127.0.0.1:{port}", "-dir", str(workdir / "db")]
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            _wait_until_listening(process, port, log)
            yield f"mongodb://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
async def sms_gateway() -> AsyncIterator[LoopbackSmsGateway]:
    """A local HTTP SMS gateway that records every text."""
    gateway = LoopbackSmsGateway()
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture
def clock() -> FakeClock:
    """The hub's clock, moved by hand (sessions, links and throttles depend on it)."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture
async def hub(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> AsyncIterator[Hub]:
    """A running hub: embedded store, mail to the loopback SMTP server, SMS to the gateway."""
    async with running_hub(hub_config_for(tmp_path, smtp_server, sms_gateway), clock) as hub:
        yield hub


def hub_config_for(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, **extra: Any
) -> Config:
    """The test hub's configuration (fast password hashing, loopback mail and SMS), with
    `extra` settings ("section.key": value) on top."""
    return load_config(
        overrides={
            "server.port": 0,
            "hub.data_dir": str(tmp_path / "data"),
            "mail.smtp_host": "127.0.0.1",
            "mail.smtp_port": smtp_server.port,
            "mail.smtp_security": "none",
            "sms.gateway_url": sms_gateway.url,
            "sms.gateway_authorization": LoopbackSmsGateway.expected_authorization,
            "accounts.password_hash_memory_kib": 19456,
            "accounts.password_hash_iterations": 2,
            "actors.accounts_workers": 4,
            **extra,
        }
    )


@contextlib.asynccontextmanager
async def running_hub(
    config: Config, clock: FakeClock, *, fake_timers: bool = False
) -> AsyncIterator[Hub]:
    """A hub started with `config`, stopped on exit (`fake_timers`: the appliance actors'
    pings and silence timers run on `clock`, moved by `clock.advance`)."""
    running = Hub(config, clock=clock, schedule=clock.call_later if fake_timers else None)
    await running.start()
    try:
        yield running
    finally:
        await running.stop(deadline=5)


def api_session(hub: Hub, user_agent: str = "pytest-client") -> ApiSession:
    """A new browser-like API client of `hub`."""
    return ApiSession(hub.url, str(hub.config.data_dir / "tls" / "cert.pem"), user_agent)


@pytest.fixture
def api(hub: Hub) -> ApiSession:
    """A browser-like API client of the running hub."""
    return api_session(hub)


class Client:
    """An HTTPS client that trusts the hub's self-signed certificate and never raises on status."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        cert = hub.config.data_dir / "tls" / "cert.pem"
        self.ssl = ssl.create_default_context(cafile=str(cert))
        self.http = AsyncHTTPClient()

    async def fetch(self, path: str, **kwargs: object) -> HTTPResponse:
        request = HTTPRequest(self.hub.url + path, ssl_options=self.ssl, **kwargs)  # type: ignore[arg-type]
        return await self.http.fetch(request, raise_error=False)


@pytest.fixture
def client(hub: Hub) -> Client:
    return Client(hub)


@pytest.fixture
async def smtp_server() -> AsyncIterator[LoopbackSmtp]:
    """A running SMTP server on loopback that collects every message."""
    server = LoopbackSmtp(_free_loopback_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def free_port() -> int:
    """A loopback port nothing listens on (yet)."""
    return _free_loopback_port()
