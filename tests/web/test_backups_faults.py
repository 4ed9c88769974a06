"""Backups under faults: the hub (a real `python -m web` process) killed with SIGKILL in the
middle of a 50 MB upload, again and again, lists nothing, removes the temporary blob when it
starts again, and takes the next upload whole."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
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
from mykerio.protocol.backups import UPLOAD_FRAME_BYTES, UPLOAD_KIND, UploadMeta
from mykerio.store import open_store
from tests.agent.conftest import FakeSleep
from tests.store.factories import make_appliance, make_organization
from tests.web.test_shutdown import free_port, wait_for_healthz

WAIT = 30.0
MIB = 1024 * 1024
UPLOAD_BYTES = 50_000_000
FRAME = UPLOAD_FRAME_BYTES
ROUNDS = 20
MIN_ROUNDS = 3
# The kill rounds stop after this many seconds (at least MIN_ROUNDS run): a loaded machine
# runs fewer than 20, an idle one all of them.
FAULT_SECONDS = float(os.environ.get("BACKUP_FAULT_SECONDS", "90"))


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
    """Up to 20 times (at least 3, within `FAULT_SECONDS`): a 50 MB upload, the hub killed
    with SIGKILL at a random point of it; never a backup listed, the part file cleaned when the
    hub starts again. Then the appliance's next upload is stored whole and is the only blob."""
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
    content = os.urandom(UPLOAD_BYTES)
    meta = UploadMeta(
        product="control",
        version="9.4.5",
        created_at=datetime.now(UTC),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        reason="scheduled",
        certificates=True,
    )
    chance = random.Random(12)  # noqa: S311 - where to kill, not a secret
    deadline = time.monotonic() + FAULT_SECONDS
    rounds = 0
    try:
        await link.wait_for(lambda view: view.phase == "linked", WAIT)
        while rounds < ROUNDS and (rounds < MIN_ROUNDS or time.monotonic() < deadline):
            session = link.session
            assert session is not None
            assert session.streams is not None
            stream = session.streams.open(UPLOAD_KIND, meta.to_json())
            await stream.accepted()
            cut = chance.randrange(FRAME, len(content) - FRAME)
            for start in range(0, cut, FRAME):
                await stream.write(content[start : min(cut, start + FRAME)])
            await until_path(lambda: bool(parts(data)), "a part file")

            hub.send_signal(signal.SIGKILL)
            hub.wait(timeout=WAIT)
            rounds += 1

            store = await open_store("", data)
            try:
                assert await store.backups.newest(appliance.id, 5) == [], f"round {rounds}"
                assert not list((data / "backups").glob("*.blob")), f"round {rounds}"
            finally:
                await store.close()
            hub = start_hub(data, port)
            await until_path(lambda: not parts(data), "the leftovers cleaned at start")
            await sleep.next_delay()  # the appliance's wait before reconnecting ends now
            await link.wait_for(lambda view: view.phase == "linked", WAIT)
        print(f"killed the hub mid-upload {rounds} times")  # noqa: T201 - how many rounds ran
        assert rounds >= MIN_ROUNDS
        assert link.backups.back_up_now()
        await link.backups.wait_for(lambda record: len(record.stored) == 1, WAIT)
    finally:
        link.stop()
        sleep.release_all()
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
