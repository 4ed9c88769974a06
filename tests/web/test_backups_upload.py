"""Backup uploads between the real simulator and the real hub over a real socket (protocol v2,
feature `backups`): "Back up now" uploads a verified backup; the cap and the rate are refused
up front with a message the appliance logs; five are kept; a cut upload lists nothing and is
sent again after the reconnect."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from actors.appliance import ApplianceActor
from actors.backups import BackupActor, BackupState
from mykerio.agent.backups import BackupOptions
from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.backups.blobs import backup_box
from mykerio.backups.events import BackupStateChanged, BackupStored
from mykerio.backups.vault import BackupVault
from mykerio.clock import FakeClock
from tests.agent.conftest import FakeSleep
from tests.agent.test_agent_real_hub import until
from tests.api_client import ApiSession
from tests.conftest import api_session, hub_config_for, running_hub
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from web.hub import Hub

WAIT = 30.0


class Simulated:
    """A simulator added to an organization, and the hub's events about its backups."""

    def __init__(
        self, hub: Hub, link: ApplianceLink, sleep: FakeSleep, org_id: str, appliance_id: str
    ):
        self.hub = hub
        self.link = link
        self.sleep = sleep
        self.org_id = org_id
        self.appliance_id = appliance_id
        self.stored: asyncio.Queue[BackupStored] = asyncio.Queue()
        self.states: asyncio.Queue[BackupStateChanged] = asyncio.Queue()
        hub.bus.subscribe(BackupStored, self.stored.put_nowait)
        hub.bus.subscribe(BackupStateChanged, self.states.put_nowait)

    async def back_up_now(self) -> bool:
        """The hub's "Back up now" to this appliance."""
        assert self.hub.router is not None
        appliance = self.hub.router.appliance(self.appliance_id)
        assert appliance is not None
        return await appliance.call(ApplianceActor.back_up_now)

    async def state(self, wanted: str) -> BackupStateChanged:
        """The next backup state of this appliance that is `wanted`."""
        async with asyncio.timeout(WAIT):
            while True:
                changed = await self.states.get()
                if changed.appliance_id == self.appliance_id and changed.state == wanted:
                    return changed

    async def next_stored(self) -> BackupStored:
        async with asyncio.timeout(WAIT):
            return await self.stored.get()

    async def hub_states(self) -> dict[str, BackupState]:
        assert self.hub.router is not None
        return await self.hub.router.backups().call(BackupActor.states, (self.appliance_id,))


async def add_simulator(
    hub: Hub, api: ApiSession, smtp: LoopbackSmtp, tmp_path: Path, options: BackupOptions
) -> Simulated:
    org_id = await member(api, smtp, "ana@acme.example", "Ana Novak")
    endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
    profile = Profile("control", "9.4.5", host_name="gw-brno", protocol=2)
    sleep = FakeSleep()
    link = ApplianceLink(
        IdentityStore(tmp_path / "gw"), profile, endpoint, sleep=sleep, backups=options
    )
    running.append((link, asyncio.create_task(link.run())))
    view = await until(link, "pairing")
    assert view.add_link is not None
    code = parse_qs(urlparse(view.add_link).fragment)["code"][0]
    added = await api.post(
        f"/api/v1/organizations/{org_id}/appliances", {"code": code, "name": "Brno gateway"}
    )
    assert added.status == 201, added
    await until(link, "linked")
    return Simulated(hub, link, sleep, org_id, str(added.json["id"]))


running: list[tuple[ApplianceLink, asyncio.Task[None]]] = []


@pytest.fixture(autouse=True)
async def stop_simulators() -> AsyncIterator[None]:
    yield
    while running:
        link, task = running.pop()
        link.stop()
        async with asyncio.timeout(WAIT):
            await task


@pytest.fixture
async def limited_hub(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> AsyncIterator[Hub]:
    """A hub that takes backups of at most 40,000 bytes, three an hour per appliance."""
    config = hub_config_for(
        tmp_path,
        smtp_server,
        sms_gateway,
        **{"backups.max_bytes": 40_000, "backups.uploads_per_hour": 3},
    )
    async with running_hub(config, clock) as hub:
        yield hub


def vault_of(hub: Hub) -> BackupVault:
    assert hub.store is not None
    return BackupVault(hub.store, backup_box(_secret(hub)), FakeClock())


def _secret(hub: Hub) -> bytes:
    path = hub.config.data_dir / "secret.key"
    return base64.urlsafe_b64decode(path.read_bytes().strip())


async def plaintext(hub: Hub, backup_id: str) -> bytes:
    return b"".join([chunk async for chunk in vault_of(hub).plaintext(backup_id)])


async def test_back_up_now_uploads_a_verified_backup(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """ "Back up now" → the simulator uploads a tar.gz of its configuration; the hub lists it
    once verified, with its facts; its bytes come back as sent; both sides say `ok`."""
    sim = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())

    assert await sim.back_up_now()
    stored = await sim.next_stored()
    await sim.state("ok")

    assert hub.store is not None
    [backup] = await hub.store.backups.newest(sim.appliance_id, 5)
    assert stored.backup_id == backup.id
    assert stored.org_id == sim.org_id
    assert (backup.product, backup.version, backup.reason) == ("control", "9.4.5", "manual")
    assert backup.appliance_name == "Brno gateway"
    assert backup.certificates
    data = await plaintext(hub, backup.id)
    assert len(data) == backup.size
    assert hashlib.sha256(data).hexdigest() == backup.sha256
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        assert "winroute.cfg" in archive.getnames()
        assert "sslcert/server.key" in archive.getnames()
    await sim.link.backups.wait_for(lambda record: record.stored == [backup.id], WAIT)
    assert (await sim.hub_states())[sim.appliance_id] == BackupState("ok")
    # The bytes are sealed at rest: the blob file holds none of the archive's text.
    blob = (hub.config.data_dir / "backups" / f"{backup.id}.blob").read_bytes()
    assert b"winroute" not in blob
    assert data[:32] not in blob


async def test_five_newest_are_kept_per_appliance(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Seven uploads leave the five newest, the first two trimmed."""
    sim = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    ids = []
    for _ in range(7):
        await sim.link.backups.wait_for(lambda record: record.state != "in_progress", WAIT)
        assert await sim.back_up_now()
        ids.append((await sim.next_stored()).backup_id)

    assert hub.store is not None
    kept = await hub.store.backups.newest(sim.appliance_id, 10)
    assert [backup.id for backup in kept] == ids[:1:-1]


async def test_the_cap_and_the_rate_are_refused_up_front_with_a_message(
    limited_hub: Hub, smtp_server: LoopbackSmtp, tmp_path: Path, clock: FakeClock
) -> None:
    """Over `[backups] max_bytes`, or past `uploads_per_hour`: `backup_refused` with words the
    appliance logs and shows, no byte sent, nothing listed; an hour later uploads go again."""
    hub = limited_hub
    api = api_session(hub)
    sim = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions(size=60_000))
    records = sim.link.backups.record

    assert await sim.back_up_now()
    await sim.link.backups.wait_for(lambda record: len(record.refusals) == 1, WAIT)
    code, message = records.refusals[0]
    assert code == "too_large"
    assert message == "The backup is 59 KiB; this MyKerio hub takes backups of at most 39 KiB."
    assert (records.state, records.message) == ("failed", message)

    sim.link.backups.options = BackupOptions()  # a few KB from now on
    for _ in range(3):
        await sim.link.backups.wait_for(lambda record: record.state != "in_progress", WAIT)
        assert await sim.back_up_now()
        await sim.next_stored()
    await sim.link.backups.wait_for(lambda record: record.state == "ok", WAIT)
    assert await sim.back_up_now()
    await sim.link.backups.wait_for(lambda record: len(record.refusals) == 2, WAIT)
    assert records.refusals[1][0] == "too_many_backups"
    assert "in the last hour" in records.refusals[1][1]
    assert hub.store is not None
    assert len(await hub.store.backups.newest(sim.appliance_id, 10)) == 3

    clock.advance(3601)
    assert await sim.back_up_now()
    await sim.next_stored()
    assert len(await hub.store.backups.newest(sim.appliance_id, 10)) == 4


async def test_an_upload_cut_by_a_disconnect_lists_nothing_and_is_sent_again(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """The simulator closes its connection halfway through a 3 MB upload: the hub lists
    nothing and keeps no temporary file; after the reconnect the upload starts over and one
    complete backup is listed."""
    options = BackupOptions(size=3_000_000, cut_first_upload=True)
    sim = await add_simulator(hub, api, smtp_server, tmp_path, options)

    assert await sim.back_up_now()
    failed = await sim.state("failed")
    assert "cut" in failed.message
    assert hub.store is not None
    assert await hub.store.backups.newest(sim.appliance_id, 5) == []
    assert list((hub.config.data_dir / "backups" / "tmp").iterdir()) == []

    await sim.sleep.next_delay()  # the reconnect delay
    stored = await sim.next_stored()
    [backup] = await hub.store.backups.newest(sim.appliance_id, 5)
    assert backup.id == stored.backup_id
    assert backup.size >= 3_000_000
    data = await plaintext(hub, backup.id)
    assert hashlib.sha256(data).hexdigest() == backup.sha256
    assert sim.link.backups.record.cut == 1
    assert sim.link.backups.record.uploads == 2


async def test_the_simulator_backs_up_on_its_schedule(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """With a schedule, the simulator uploads a `scheduled` backup each time it is due."""
    sim = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions(every=3600.0))

    assert await sim.sleep.next_delay() == 3600.0
    first = await sim.next_stored()
    await sim.link.backups.wait_for(lambda record: record.state == "ok", WAIT)
    assert await sim.sleep.next_delay() == 3600.0
    second = await sim.next_stored()

    assert hub.store is not None
    listed = await hub.store.backups.newest(sim.appliance_id, 5)
    assert [b.id for b in listed] == [second.backup_id, first.backup_id]
    assert {b.reason for b in listed} == {"scheduled"}


class FailingPublish:
    """The hub's backups repository, failing its next `publish` as a full disk would."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failures = 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def publish(self, backup: Any, blob: Any, keep: int) -> list[str]:
        if self.failures:
            self.failures -= 1
            await blob.discard()
            raise OSError(28, "No space left on device")
        result: list[str] = await self.inner.publish(backup, blob, keep)
        return result


async def test_a_store_failing_at_publish_refuses_and_the_appliance_retries_later(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """The store fails as the backup is published: the upload is refused (`store_failed`),
    nothing is listed or left behind; the appliance tries again later and that one is kept."""
    sim = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    store = hub.store
    assert store is not None
    store.backups = FailingPublish(store.backups)  # type: ignore[misc]

    assert await sim.back_up_now()
    failed = await sim.state("failed")
    assert "could not store" in failed.message
    await sim.link.backups.wait_for(lambda record: bool(record.refusals), WAIT)
    assert sim.link.backups.record.refusals[0][0] == "store_failed"
    assert await store.backups.newest(sim.appliance_id, 5) == []
    assert list((hub.config.data_dir / "backups" / "tmp").iterdir()) == []

    assert await sim.sleep.next_delay() == 300.0  # the appliance's retry
    stored = await sim.next_stored()
    assert [b.id for b in await store.backups.newest(sim.appliance_id, 5)] == [stored.backup_id]
