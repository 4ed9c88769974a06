"""The Backups API against the real hub and the real simulator: "Back up now" (one appliance,
all of them), the list by appliance (a removed one marked, its backups kept), a streamed
download byte for byte, deletion, and the activity log's record of both with user and IP."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from mykerio.agent.backups import BackupOptions
from mykerio.backups.events import BackupSettingsChanged
from mykerio.organizations.events import ApplianceChanged
from tests.agent.test_agent_real_hub import row
from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.store.factories import make_backup, store_backup
from tests.web.test_backups_upload import WAIT, add_simulator, stop_simulators
from web.hub import Hub

__all__ = ["stop_simulators"]  # (the fixture that stops the simulators after each test)


async def test_back_up_now_list_download_delete_and_the_activity_log(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """ "Back up now" through the API uploads a backup that the list shows under its appliance;
    the download is the file the appliance sent; deleting it empties the list; the activity log
    has the request, the download and the deletion, each with the member and the address."""
    sim = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions(size=600_000))
    base = f"/api/v1/organizations/{sim.org_id}/backups"

    asked = await api.post(f"{base}/now", {"appliance_id": sim.appliance_id})
    assert asked.status == 202, asked
    assert asked.json == {"asked": 1}
    stored = await sim.next_stored()
    await sim.state("ok")

    listed = await api.get(base)
    assert listed.status == 200, listed
    [group] = listed.json["appliances"]
    assert group["appliance_id"] == sim.appliance_id
    assert (group["name"], group["removed"], group["connected"]) == ("Brno gateway", False, True)
    assert group["state"] == "ok"
    [entry] = group["backups"]
    assert entry["id"] == stored.backup_id
    assert entry["reason"] == "manual"
    assert entry["filename"].startswith("control-Brno-gateway-")
    assert entry["filename"].endswith(".tgz")

    download = await api.get(f"{base}/{entry['id']}/download")
    assert download.status == 200, download
    assert download.headers["Content-Type"] == "application/gzip"
    assert entry["filename"] in download.headers["Content-Disposition"]
    assert len(download.raw) == entry["size"] >= 600_000
    assert hashlib.sha256(download.raw).hexdigest() == entry["sha256"]
    assert download.raw[:2] == b"\x1f\x8b"  # gzip

    deleted = await api.request("DELETE", f"{base}/{entry['id']}")
    assert deleted.status == 204, deleted
    again = await api.request("DELETE", f"{base}/{entry['id']}")
    assert again.status == 404
    assert (await api.get(f"{base}/{entry['id']}/download")).status == 404
    [group] = (await api.get(base)).json["appliances"]
    assert group["backups"] == []

    activity = (await api.get(f"/api/v1/organizations/{sim.org_id}/activity")).json["events"]
    by_action = {event["action"]: event for event in activity}
    for action in ("backup_requested", "backup_downloaded", "backup_deleted"):
        assert by_action[action]["actor"] == "ana@acme.example", action
        assert by_action[action]["ip"] == "127.0.0.1", action
    assert by_action["backup_downloaded"]["detail"] == entry["filename"]
    assert by_action["backup_deleted"]["target"] == "Brno gateway"


async def test_back_up_now_for_all_and_a_removed_appliance_keeps_its_backups(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """ "Back up now" for the organization asks every connected appliance; after the appliance
    is removed its backups stay listed, under it, marked removed; asking it is a 404."""
    sim = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    base = f"/api/v1/organizations/{sim.org_id}/backups"

    asked = await api.post(f"{base}/now", {})
    assert asked.json == {"asked": 1}
    stored = await sim.next_stored()
    removed = await api.request(
        "DELETE", f"/api/v1/organizations/{sim.org_id}/appliances/{sim.appliance_id}"
    )
    assert removed.status in (200, 204), removed
    await sim.link.wait_for(lambda view: view.phase == "removed", WAIT)

    [group] = (await api.get(base)).json["appliances"]
    assert group["removed"] is True
    assert group["name"] == "Brno gateway"
    assert [b["id"] for b in group["backups"]] == [stored.backup_id]
    assert (await api.get(f"{base}/{stored.backup_id}/download")).status == 200
    gone = await api.post(f"{base}/now", {"appliance_id": sim.appliance_id})
    assert gone.status == 404
    assert (await api.post(f"{base}/now", {})).json == {"asked": 0}


async def test_back_up_now_of_an_offline_appliance_says_so(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """An appliance that is not connected cannot back up now: 409 with the reason."""
    sim = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    sim.link.set_enabled(False)
    await sim.link.wait_for(lambda view: view.phase == "disabled", WAIT)
    base = f"/api/v1/organizations/{sim.org_id}/backups"

    await row(api, sim.org_id, lambda found: not found["connected"])  # the hub knows

    answer = await api.post(f"{base}/now", {"appliance_id": sim.appliance_id})
    assert answer.status == 409, answer
    assert "not connected" in answer.json["error"]["message"]


async def test_a_backup_stored_for_another_organization_is_not_found(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """A member cannot reach another organization's backup through their own organization."""
    sim = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    assert hub.store is not None
    foreign = make_backup("a-elsewhere", hub.clock.now(), org_id="f" * 32)
    await store_backup(hub.store, foreign)
    base = f"/api/v1/organizations/{sim.org_id}/backups"

    assert (await api.get(f"{base}/{foreign.id}/download")).status == 404
    assert (await api.request("DELETE", f"{base}/{foreign.id}")).status == 404
    assert (await hub.store.backups.get(foreign.id)).id == foreign.id  # still there
    assert (await api.get(f"{base}/{foreign.id}/compare/{foreign.id}")).status == 404


async def test_deleting_the_organization_says_how_many_backups_go_and_deletes_them(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """The deletion summary counts the backups (a removed appliance's too); deleting the
    organization deletes them, records and blobs."""
    sim = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    assert (await api.post(f"/api/v1/organizations/{sim.org_id}/backups/now", {})).status == 202
    stored = await sim.next_stored()
    assert hub.store is not None
    removed_one = make_backup("a-removed", hub.clock.now(), org_id=sim.org_id)
    await store_backup(hub.store, removed_one)

    summary = await api.get(f"/api/v1/organizations/{sim.org_id}/deletion")
    assert summary.json["backups"] == 2
    deleted = await api.request("DELETE", f"/api/v1/organizations/{sim.org_id}")
    assert deleted.status == 200, deleted
    assert deleted.json["removed"]["backups"] == 2

    assert await hub.store.backups.of_organization(sim.org_id) == []
    assert not (hub.config.data_dir / "backups" / f"{stored.backup_id}.blob").exists()
    assert await hub.store.backups.clean_leftovers() == 0


async def test_two_backups_of_an_appliance_compare_as_a_diff_of_their_files(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Two uploaded backups compare, older first whichever is named first: the files that
    differ with a unified diff (the private key only said to differ), the rest counted; the
    activity log notes it; a backup compared with itself or another appliance's is a 400."""
    sim = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    base = f"/api/v1/organizations/{sim.org_id}/backups"
    ids = []
    for _ in range(2):
        assert (await api.post(f"{base}/now", {"appliance_id": sim.appliance_id})).status == 202
        ids.append((await sim.next_stored()).backup_id)
        await sim.state("ok")

    answer = await api.get(f"{base}/{ids[1]}/compare/{ids[0]}")

    assert answer.status == 200, answer
    assert (answer.json["older"]["id"], answer.json["newer"]["id"]) == (ids[0], ids[1])
    files = {f["path"]: f for f in answer.json["files"]}
    assert files["sslcert/server.key"] == {
        "path": "sslcert/server.key",
        "change": "changed",
        "diff": "",
        "note": "a private key: not shown",
    }
    certificate = files["sslcert/server.crt"]["diff"]
    assert certificate.startswith(f"--- {answer.json['older']['filename']}/sslcert/server.crt\n")
    assert "\n-" in certificate
    assert "\n+" in certificate
    assert "UserDB.cfg" not in files
    assert answer.json["unchanged"] >= 1
    assert answer.headers["Cache-Control"] == "no-store"
    activity = (await api.get(f"/api/v1/organizations/{sim.org_id}/activity")).json["events"]
    [compared] = [e for e in activity if e["action"] == "backups_compared"]
    assert (compared["actor"], compared["ip"]) == ("ana@acme.example", "127.0.0.1")

    same = await api.get(f"{base}/{ids[0]}/compare/{ids[0]}")
    assert same.status == 400, same
    assert hub.store is not None
    other = make_backup("b-other", hub.clock.now(), org_id=sim.org_id)
    await store_backup(hub.store, other)
    mixed = await api.get(f"{base}/{ids[0]}/compare/{other.id}")
    assert mixed.status == 400, mixed
    assert "one appliance" in mixed.json["error"]["message"]


async def test_backup_settings_go_to_the_appliance_which_reports_them_back(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Settings set through the API reach the simulator ("Save configuration to MyKerio" off,
    every 12 hours), it reports them back, the list shows them, the activity log notes who;
    a schedule the dashboard does not offer is a 400, an offline appliance a 409."""
    sim = await add_simulator(hub, api, smtp_server, tmp_path, BackupOptions())
    reported: asyncio.Queue[BackupSettingsChanged] = asyncio.Queue()
    hub.bus.subscribe(BackupSettingsChanged, reported.put_nowait)
    base = f"/api/v1/organizations/{sim.org_id}/backups"
    body = {"appliance_id": sim.appliance_id, "enabled": False, "every_hours": 12}

    answer = await api.request("PUT", f"{base}/settings", body)

    assert answer.status == 202, answer
    async with asyncio.timeout(WAIT):
        while (event := await reported.get()).enabled:
            pass
    assert (event.appliance_id, event.every_hours) == (sim.appliance_id, 12)
    options = sim.link.backups.options
    assert (options.enabled, options.every) == (False, 12 * 3600)
    [group] = (await api.get(base)).json["appliances"]
    assert group["settings"] == {"enabled": False, "every_hours": 12}
    activity = (await api.get(f"/api/v1/organizations/{sim.org_id}/activity")).json["events"]
    [changed] = [e for e in activity if e["action"] == "backup_settings_changed"]
    assert (changed["actor"], changed["detail"]) == ("ana@acme.example", "off, every 12 h")

    odd = await api.request("PUT", f"{base}/settings", {**body, "every_hours": 5})
    assert odd.status == 400, odd
    offline: asyncio.Queue[ApplianceChanged] = asyncio.Queue()
    hub.bus.subscribe(ApplianceChanged, offline.put_nowait)
    sim.link.stop()
    async with asyncio.timeout(WAIT):
        while (await offline.get()).appliance.connected:
            pass
    gone = await api.request("PUT", f"{base}/settings", body)
    assert gone.status == 409, gone
    assert "not connected" in gone.json["error"]["message"]
