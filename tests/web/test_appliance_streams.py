"""Protocol v2 streams between the real hub and the real simulator on a real socket: bulk data
moves without slowing the control lane, a stalled reader stalls only its stream (the link is not
closed), and nothing of a feature goes to an appliance that did not declare it."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.errors import NotFound
from mykerio.protocol.stream_link import Stream
from tests.agent.conftest import FakeSleep
from tests.agent.test_agent_real_hub import row, until
from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from web.appliance_streams import ApplianceStreams
from web.hub import Hub

WAIT = 30.0
CHUNK = 256 * 1024
# A status change reaches the dashboard's state within this while the link carries bulk data
# (idle, it takes a few milliseconds on loopback).
PROMPTLY = 2.0


async def linked_simulator(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path, protocol: int
) -> tuple[ApplianceLink, str, str, asyncio.Task[None]]:
    """A simulator speaking `protocol`, added to a new organization: (link, org, id, task)."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    profile = Profile("control", "9.4.0", host_name="gw-brno", protocol=protocol)
    link = ApplianceLink(IdentityStore(tmp_path / "gw"), profile, endpoint, sleep=FakeSleep())
    task = asyncio.create_task(link.run())
    view = await until(link, "pairing")
    assert view.add_link is not None
    code = parse_qs(urlparse(view.add_link).fragment)["code"][0]
    added = await api.post(
        f"/api/v1/organizations/{org_id}/appliances", {"code": code, "name": "Brno gateway"}
    )
    assert added.status == 201, added
    await until(link, "linked")
    await row(api, org_id, lambda found: found["status"] == "green")
    return link, org_id, str(added.json["id"]), task


@pytest.fixture
async def stopped_after() -> AsyncIterator[list[tuple[ApplianceLink, asyncio.Task[None]]]]:
    """Simulators to stop at the end of the test."""
    running: list[tuple[ApplianceLink, asyncio.Task[None]]] = []
    yield running
    for link, task in running:
        link.stop()
        async with asyncio.timeout(WAIT):
            await task


def streams_of(hub: Hub) -> ApplianceStreams:
    assert hub.appliance_streams is not None
    return hub.appliance_streams


class Progress:
    """How many bytes a reader has taken; `reached` waits for a count."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = asyncio.Condition()

    async def add(self, count: int) -> None:
        async with self._changed:
            self.count += count
            self._changed.notify_all()

    async def reached(self, count: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.count >= count)


async def read_all(stream: Stream, digest: Any, progress: Progress) -> None:
    while chunk := await stream.read():
        digest.update(chunk)
        await progress.add(len(chunk))


def status_is(colour: str) -> Callable[[dict[str, Any]], bool]:
    return lambda found: bool(found["status"] == colour)


async def test_32_mib_through_an_echo_stream_while_status_changes_reach_the_dashboard(
    hub: Hub,
    api: ApiSession,
    smtp_server: LoopbackSmtp,
    tmp_path: Path,
    stopped_after: list[tuple[ApplianceLink, asyncio.Task[None]]],
) -> None:
    """The hub pushes 32 MiB through the simulator's echo stream and reads it back intact;
    meanwhile each knob flipped on the appliance reaches the dashboard's state promptly."""
    link, org_id, appliance_id, task = await linked_simulator(
        hub, api, smtp_server, tmp_path, protocol=2
    )
    stopped_after.append((link, task))
    streams = streams_of(hub)
    # (A simulated Kerio Control also declares backups, shared definitions, notifications, the
    # relay and the tunnel.)
    assert streams.features(appliance_id) == {
        "backups": 1,
        "definitions": 1,
        "diagnostics": 1,
        "notifications": 1,
        "relay": 1,
        "tunnel": 1,
    }
    stream = streams.open(appliance_id, "echo")
    await stream.accepted()

    total = 32 * 1024 * 1024
    data = os.urandom(total)
    sent_digest, echoed_digest = hashlib.sha256(data), hashlib.sha256()
    echoed = Progress()

    async def write_all() -> None:
        for offset in range(0, total, CHUNK):
            await stream.write(data[offset : offset + CHUNK])
        stream.close()

    writer = asyncio.create_task(write_all())
    reader = asyncio.create_task(read_all(stream, echoed_digest, echoed))
    latencies: list[float] = []
    for mark, knobs, colour in (
        (4, {"low_memory": True}, "yellow"),
        (12, {"low_memory": False, "licence_expired": True}, "red"),
        (20, {"licence_expired": False}, "green"),
    ):
        async with asyncio.timeout(WAIT):
            await echoed.reached(mark * 1024 * 1024)
        assert not reader.done()  # the link is busy with the transfer right now
        started = time.monotonic()
        link.set_knobs(knobs)
        await row(api, org_id, status_is(colour))
        latencies.append(time.monotonic() - started)
    async with asyncio.timeout(WAIT):
        await asyncio.gather(writer, reader)
    assert echoed.count == total
    assert echoed_digest.digest() == sent_digest.digest()
    assert max(latencies) < PROMPTLY, latencies
    assert link.view.phase == "linked"


async def test_a_stalled_reader_stalls_its_stream_not_the_link(
    hub: Hub,
    api: ApiSession,
    smtp_server: LoopbackSmtp,
    tmp_path: Path,
    stopped_after: list[tuple[ApplianceLink, asyncio.Task[None]]],
) -> None:
    """The hub writes 8 MiB into an echo stream and does not read the echo: the stream stalls
    on credit (more than the windows could ever hold), yet status and rename still cross the
    link both ways and the hub does not close it (no 4008); once read, everything arrives."""
    link, org_id, appliance_id, task = await linked_simulator(
        hub, api, smtp_server, tmp_path, protocol=2
    )
    stopped_after.append((link, task))
    session = link.session
    stream = streams_of(hub).open(appliance_id, "echo")
    await stream.accepted()
    total = 8 * 1024 * 1024
    data = os.urandom(total)

    async def write_all() -> None:
        for offset in range(0, total, CHUNK):
            await stream.write(data[offset : offset + CHUNK])
        stream.close()

    writer = asyncio.create_task(write_all())
    link.set_knobs({"low_memory": True})  # appliance -> hub, control lane
    await row(api, org_id, lambda found: found["status"] == "yellow")
    path = f"/api/v1/organizations/{org_id}/appliances/{appliance_id}"
    renamed = await api.request("PATCH", path, {"name": "Brno (busy)"})  # hub -> appliance
    assert renamed.status == 200, renamed
    await link.wait_for(lambda view: view.state.name == "Brno (busy)", WAIT)
    # Two 1 MiB windows and two 512 KiB send budgets hold 3 MiB: 8 MiB cannot all be written.
    assert not writer.done()
    assert link.session is session  # the same connection: never closed and reconnected
    assert session is not None
    assert session.linked

    echoed_digest, echoed = hashlib.sha256(), Progress()
    async with asyncio.timeout(WAIT):
        await asyncio.gather(writer, read_all(stream, echoed_digest, echoed))
    assert echoed_digest.digest() == hashlib.sha256(data).digest()
    assert link.session is session


async def test_no_stream_goes_to_a_version_1_appliance(
    hub: Hub,
    api: ApiSession,
    smtp_server: LoopbackSmtp,
    tmp_path: Path,
    stopped_after: list[tuple[ApplianceLink, asyncio.Task[None]]],
) -> None:
    """A v1 appliance has no streams: opening one is refused in the hub, nothing is sent."""
    link, _org_id, appliance_id, task = await linked_simulator(
        hub, api, smtp_server, tmp_path, protocol=1
    )
    stopped_after.append((link, task))
    streams = streams_of(hub)
    assert streams.features(appliance_id) == {}
    with pytest.raises(NotFound):
        streams.open(appliance_id, "echo")
    assert link.session is not None
    assert link.session.streams is None


async def test_a_bad_frame_gets_its_error_before_the_close(
    hub: Hub,
    api: ApiSession,
    smtp_server: LoopbackSmtp,
    tmp_path: Path,
    stopped_after: list[tuple[ApplianceLink, asyncio.Task[None]]],
) -> None:
    """A binary frame with a short header is `bad_frame`: the hub's `error` (sent through the
    control lane) reaches the appliance before the close frame (4000), so it can say why."""
    link, _org_id, _appliance_id, task = await linked_simulator(
        hub, api, smtp_server, tmp_path, protocol=2
    )
    stopped_after.append((link, task))
    session = link.session
    assert session is not None
    # (The simulator never sends a bad frame: this writes one on its socket, as a broken
    # appliance would.)
    connection = session._conn
    assert connection is not None
    await connection.write_message(b"\x00\x00", binary=True)
    view = await link.wait_for(lambda view: view.phase == "waiting", WAIT)
    assert "the hub reported: a binary frame starts with a 8-byte header" in view.status_text
