"""Open administration against hostile use: a removed member's or a removed appliance's
tunnel ends at once, an appliance that refuses remote administration says so, and request
smuggling or oversized heads are refused at the tunnel origin."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from tests.agent.conftest import FakeSleep
from tests.agent.test_agent_real_hub import row, until
from tests.api_client import ApiSession
from tests.conftest import api_session
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import token_in
from tests.web.org_helpers import member
from tests.web.test_tunnel import enter, linked_appliance
from web.hub import Hub

WAIT = 30.0


@pytest.fixture
async def opened(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> AsyncIterator[tuple[ApplianceLink, str, str]]:
    """A linked simulator in Ana's organization: (link, org id, appliance id)."""
    async with linked_appliance(hub, api, smtp_server, tmp_path) as linked:
        yield linked


async def test_a_removed_member_is_out_of_the_tunnel_at_once(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, opened: tuple[ApplianceLink, str, str]
) -> None:
    """Bob's open tunnel answers 401 on his very next request once Ana removes him."""
    _, org_id, appliance_id = opened
    invited = await api.post(
        f"/api/v1/organizations/{org_id}/invitations", {"email": "bob@other.example"}
    )
    assert invited.status == 201
    token = token_in(await smtp_server.find("bob@other.example", "invited"))
    bob = api_session(hub)
    await member(bob, smtp_server, "bob@other.example", "Bob Smith")
    await bob.post("/api/v1/invitations/accept", {"token": token})
    tunnel = await enter(hub, bob, org_id, appliance_id)
    assert (await tunnel.get("/admin/")).status == 200
    view = (await api.get(f"/api/v1/organizations/{org_id}")).json
    bob_id = next(m["user_id"] for m in view["members"] if m["email"] == "bob@other.example")
    removed = await api.request("DELETE", f"/api/v1/organizations/{org_id}/members/{bob_id}")
    assert removed.status == 204
    assert (await tunnel.get("/admin/")).status == 401


async def test_removing_the_appliance_ends_its_tunnels(
    hub: Hub, api: ApiSession, opened: tuple[ApplianceLink, str, str]
) -> None:
    """Once the appliance is removed, its tunnel answers 401 and no ticket is handed out."""
    _, org_id, appliance_id = opened
    tunnel = await enter(hub, api, org_id, appliance_id)
    assert (await tunnel.get("/admin/")).status == 200
    gone = await api.request("DELETE", f"/api/v1/organizations/{org_id}/appliances/{appliance_id}")
    assert gone.status in (200, 204)
    assert (await tunnel.get("/admin/")).status == 401
    again = await api.post(
        f"/api/v1/organizations/{org_id}/appliances/{appliance_id}/administration"
    )
    assert again.status == 404


@pytest.fixture
async def refusing(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> AsyncIterator[tuple[str, str]]:
    """A linked simulator with remote administration turned off: (org id, appliance id)."""
    async with refusing_appliance(hub, api, smtp_server, tmp_path) as linked:
        yield linked


@contextlib.asynccontextmanager
async def refusing_appliance(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> AsyncIterator[tuple[str, str]]:
    """A linked simulator with remote administration turned off: (org id, appliance id)."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    profile = Profile("control", "9.4.0", host_name="gw", protocol=2, remote_admin=False)
    link = ApplianceLink(IdentityStore(tmp_path / "gw"), profile, endpoint, sleep=FakeSleep())
    task = asyncio.create_task(link.run())
    view = await until(link, "pairing")
    assert view.add_link is not None
    code = parse_qs(urlparse(view.add_link).fragment)["code"][0]
    added = await api.post(
        f"/api/v1/organizations/{org_id}/appliances", {"code": code, "name": "Locked gateway"}
    )
    await until(link, "linked")
    await row(api, org_id, lambda found: found["status"] == "green")
    try:
        yield org_id, str(added.json["id"])
    finally:
        link.stop()
        async with asyncio.timeout(WAIT):
            await task


async def test_an_appliance_that_refuses_remote_administration_says_so(
    api: ApiSession, refusing: tuple[str, str]
) -> None:
    """The dashboard learns "off" for it, and opening answers 409 with the reason."""
    org_id, appliance_id = refusing
    states = await api.get(f"/api/v1/organizations/{org_id}/administration")
    assert states.json["appliances"] == [{"appliance_id": appliance_id, "state": "off"}]
    opening = await api.post(
        f"/api/v1/organizations/{org_id}/appliances/{appliance_id}/administration"
    )
    assert opening.status == 409
    assert (
        opening.json["error"]["message"] == "Remote administration is turned off on this appliance."
    )


def raw_request(hub: Hub, head: bytes) -> bytes:
    """Send bytes to the tunnel origin over TLS; the first line of its answer."""
    assert hub.tunnel is not None
    context = ssl.create_default_context(cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    with (
        socket.create_connection(("127.0.0.1", hub.tunnel_port), timeout=10) as plain,
        context.wrap_socket(plain, server_hostname="localhost") as tls,
    ):
        tls.sendall(head)
        answer = b""
        while b"\r\n" not in answer:
            chunk = tls.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n")[0]


async def test_smuggling_and_oversized_heads_are_refused_at_the_tunnel_origin(
    hub: Hub, api: ApiSession, opened: tuple[ApplianceLink, str, str]
) -> None:
    """Content-Length with Transfer-Encoding is refused before any stream opens; a head over
    16 KiB of forwarded headers answers 431; the appliance stays linked."""
    link, org_id, appliance_id = opened
    tunnel = await enter(hub, api, org_id, appliance_id)
    cookie = f"Cookie: __Host-mk_tunnel={tunnel.cookies['__Host-mk_tunnel']}\r\n".encode()
    smuggled = (
        b"POST /admin/settings HTTP/1.1\r\nHost: localhost\r\n"
        + cookie
        + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        + b"GET /admin/audit HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    first_line = await asyncio.to_thread(raw_request, hub, smuggled)
    assert first_line.startswith(b"HTTP/1.1 400")
    big = b"".join(f"Accept-Language: {'x' * 4000}\r\n".encode() for _ in range(5))
    oversized = b"GET /admin/ HTTP/1.1\r\nHost: localhost\r\n" + cookie + big + b"\r\n"
    assert (await asyncio.to_thread(raw_request, hub, oversized)).startswith(b"HTTP/1.1 431")
    assert (await tunnel.get("/admin/")).status == 200
    assert link.view.phase == "linked"
