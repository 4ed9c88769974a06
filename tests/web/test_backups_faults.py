"""Backups under faults: the hub (a real `python -m web` process) killed with SIGKILL in the
middle of an upload lists nothing, removes the temporary blob when it starts again, and takes
the next upload whole."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.backups.blobs import backup_box
from mykerio.backups.vault import BackupVault
from mykerio.clock import SystemClock
from mykerio.protocol.backups import UPLOAD_KIND, UploadMeta
from mykerio.store import open_store
from tests.agent.conftest import FakeSleep
from tests.store.factories import make_appliance, make_organization
from tests.web.test_shutdown import free_port, wait_for_healthz

WAIT = 30.0
MIB = 1024 * 1024


def start_hub(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MYKERIO_SERVER_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "web", "--data-dir", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_healthz(f"https://localhost:{port}/healthz", data / "tls" / "cert.pem", process)
    return process


async def until_path(predicate: Callable[[], bool], what: str) -> None:
    """Poll the file system: another process writes it, so there is no event to await."""
    async with asyncio.timeout(WAIT):
        while not predicate():  # noqa: ASYNC110 - (another process's files)
            await asyncio.sleep(0.02)
    assert predicate(), what


def parts(data: Path) -> list[Path]:
    directory = data / "backups" / "tmp"
    return list(directory.iterdir()) if directory.exists() else []


async def test_kill_9_mid_upload_lists_nothing_cleans_up_and_the_next_upload_succeeds(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    identity = IdentityStore(tmp_path / "gw")
    store = await open_store("", data)
    organization = await store.organizations.add(make_organization())
    appliance = await store.appliances.add(
        make_appliance(identity.public_key, org_id=organization.id, name="Brno gateway")
    )
    await store.close()
    port = free_port()
    hub = start_hub(data, port)
    sleep = FakeSleep()
    endpoint = HubEndpoint.of(f"https://localhost:{port}", cafile=str(data / "tls" / "cert.pem"))
    link = ApplianceLink(identity, Profile("control", "9.4.5", protocol=2), endpoint, sleep=sleep)
    task = asyncio.create_task(link.run())
    try:
        await link.wait_for(lambda view: view.phase == "linked", WAIT)
        session = link.session
        assert session is not None
        assert session.streams is not None
        content = os.urandom(8 * MIB)
        meta = UploadMeta(
            product="control",
            version="9.4.5",
            created_at=datetime.now(UTC),
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            reason="scheduled",
            certificates=True,
        )
        stream = session.streams.open(UPLOAD_KIND, meta.to_json())
        await stream.accepted()
        for start in range(0, 4 * MIB, 65_528):  # half of it, then the hub dies
            await stream.write(content[start : start + 65_528])
        await until_path(lambda: any(p.stat().st_size > MIB for p in parts(data)), "a part file")

        hub.send_signal(signal.SIGKILL)
        hub.wait(timeout=WAIT)

        assert parts(data)  # killed mid-upload: the temporary blob is still there
        store = await open_store("", data)
        try:
            assert await store.backups.newest(appliance.id, 5) == []
        finally:
            await store.close()

        hub = start_hub(data, port)
        await until_path(lambda: not parts(data), "the leftovers cleaned at start")
        sleep.release_all()  # the appliance reconnects at once from now on
        await link.wait_for(lambda view: view.phase == "linked", WAIT)
        assert link.backups.back_up_now()
        await link.backups.wait_for(lambda record: len(record.stored) == 1, WAIT)
    finally:
        link.stop()
        async with asyncio.timeout(WAIT):
            await task
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=WAIT)

    store = await open_store("", data)
    try:
        [backup] = await store.backups.newest(appliance.id, 5)
        assert backup.id == link.backups.record.stored[0]
        secret = base64.urlsafe_b64decode((data / "secret.key").read_bytes().strip())
        vault = BackupVault(store, backup_box(secret), SystemClock())
        plain = b"".join([chunk async for chunk in vault.plaintext(backup.id)])
        assert hashlib.sha256(plain).hexdigest() == backup.sha256
        assert list((data / "backups").glob("*.blob")) == [data / "backups" / f"{backup.id}.blob"]
    finally:
        await store.close()
