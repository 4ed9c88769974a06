"""The Set up step of adding a Kerio Control box, over the real HTTP API and the simulator on a
real socket: the box checks the administrator choice at once (`setup_check`), changes nothing,
and keeps waiting with a working code."""

from __future__ import annotations

from pathlib import Path

from mykerio.agent.box import BoxAdmin
from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from tests.web.test_boxes import BOX_PASSWORD, SERIAL, Box, found
from web.hub import Hub

CHECK = "/api/v1/appliances/check-box"


async def test_the_box_checks_existing_credentials_at_the_set_up_step(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Wrong existing credentials and a new administrator on a box that has one are refused at
    Set up with the box's reason; the right ones pass; the box is unchanged and still waits."""
    box = Box(hub, tmp_path / "box", admin=BoxAdmin.create("admin", BOX_PASSWORD))
    try:
        await box.until("pairing")
        await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        await found(api)
        body = {"serial": SERIAL, "box": box.fingerprint, "admin": "existing", "username": "admin"}
        wrong = await api.post(CHECK, {**body, "password": "not-the-password"})
        assert wrong.status == 400, wrong
        assert wrong.json["error"]["field"] == "password"
        assert "user name or password is not correct" in wrong.json["error"]["message"]
        new = await api.post(CHECK, {**body, "admin": "new", "password": "long-enough-1"})
        assert new.status == 400
        assert "already has an administrator" in new.json["error"]["message"]
        right = await api.post(CHECK, {**body, "password": BOX_PASSWORD})
        assert (right.status, right.json) == (200, {"ok": True})
        other_box = await api.post(CHECK, {**body, "box": "x" * 32, "password": BOX_PASSWORD})
        assert other_box.status == 404
        assert box.link.view.phase == "pairing"
        assert box.store.state.admin is not None
        assert box.store.state.admin.verify("admin", BOX_PASSWORD)
    finally:
        await box.stop()


async def test_a_fresh_box_accepts_a_new_administrator_but_refuses_existing_ones(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """On a box without an administrator, "existing" is refused at Set up and "new" passes
    without creating anything."""
    box = Box(hub, tmp_path / "box")
    try:
        await box.until("pairing")
        await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        await found(api)
        body = {"serial": SERIAL, "box": box.fingerprint, "username": "admin"}
        existing = await api.post(CHECK, {**body, "admin": "existing", "password": "whatever"})
        assert existing.status == 400
        assert existing.json["error"]["field"] == "admin"
        fresh = await api.post(CHECK, {**body, "admin": "new", "password": BOX_PASSWORD})
        assert fresh.status == 200, fresh
        assert box.store.state.admin is None
        assert box.link.view.phase == "pairing"
    finally:
        await box.stop()
