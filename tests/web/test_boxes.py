"""Adding a Kerio Control box by its serial number, with the real simulator on real sockets:
find it, set up its administrator (credentials to the box only), reserve it grey, then green
once it has restarted; and every way that must be refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mykerio.agent.box import BoxAdmin
from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink, LinkView
from mykerio.agent.profile import Profile
from mykerio.appliances.roster import RESERVED_REASON
from mykerio.protocol.identity import b64url, new_identity, public_key_id, sign_factory
from tests.agent.conftest import FakeSleep
from tests.api_client import ApiSession
from tests.appliance_client import TestAppliance
from tests.conftest import api_session, hub_config_for, running_hub
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.live_watch import LiveWatch
from tests.web.org_helpers import member
from web.hub import Hub

WAIT = 10.0
SERIAL = "SRLNMR123456"
BOX_PASSWORD = "Brno-box-2026!"


class Box:
    """A simulated Kerio Control box with a serial, linked to the hub under test."""

    def __init__(
        self,
        hub: Hub,
        state: Path,
        admin: BoxAdmin | None = None,
        maker_pem: bytes | None = None,
        protocol: int = 2,
    ) -> None:
        self.sleep = FakeSleep()
        self.store = IdentityStore(state)
        if admin is not None:
            self.store.update(self.store.state.__class__(admin=admin))
        endpoint = HubEndpoint.of(hub.url, cafile=str(hub.config.data_dir / "tls" / "cert.pem"))
        signature = None
        if maker_pem is not None:
            signature = sign_factory(maker_pem, SERIAL, self.store.public_key)
        profile = Profile(
            "control",
            "9.4.2",
            host_name="box-brno",
            serial=SERIAL,
            factory_signature=signature,
            protocol=protocol,
        )
        self.link = ApplianceLink(self.store, profile, endpoint, sleep=self.sleep)
        self.task = asyncio.create_task(self.link.run())

    @property
    def fingerprint(self) -> str:
        return public_key_id(self.store.public_key)

    async def until(self, phase: str) -> LinkView:
        return await self.link.wait_for(lambda view: view.phase == phase, WAIT)

    async def stop(self) -> None:
        self.link.stop()
        async with asyncio.timeout(WAIT):
            await self.task


@pytest.fixture(params=[1, 2], ids=["v1", "v2"])
async def box(hub: Hub, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Box]:
    """A factory-fresh box (no administrator yet), waiting to be added; one speaking protocol
    version 1, one version 2."""
    simulated = Box(hub, tmp_path / "box", protocol=request.param)
    try:
        await simulated.until("pairing")
        yield simulated
    finally:
        await simulated.stop()


def setup_new(name: str = "Brno box", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "serial": SERIAL,
        "name": name,
        "admin": "new",
        "username": "admin",
        "password": BOX_PASSWORD,
        "email": "it@acme.example",
        "statistics": True,
        "eula_accepted": True,
    }
    body.update(changes)
    return body


async def found(api: ApiSession, serial: str = SERIAL) -> dict[str, Any]:
    result = await api.post("/api/v1/appliances/find-box", {"serial": serial})
    assert result.status == 200, result
    return dict(result.json)


async def test_a_factory_box_is_found_set_up_reserved_grey_then_green(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, box: Box, capfd: Any
) -> None:
    """Find shows type and IP; Finish creates the box's administrator on the box only; the row
    is grey (reserved) while the box restarts, green once it is back."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    shown = await found(api, "srlnmr-123456 ")  # as typed off a label: case and dash ignored
    assert shown == {
        "serial": SERIAL,
        "product": "control",
        "version": "9.4.2",
        "ip": "127.0.0.1",
        "name_hint": "box-brno",
        "box": box.fingerprint,
        "certified": False,  # this hub knows no maker keys
    }
    async with LiveWatch(api, org_id) as live:
        added = await api.post(
            f"/api/v1/organizations/{org_id}/boxes", setup_new(box=box.fingerprint)
        )
        assert added.status == 201, added
        assert added.json["status"] == "grey"
        assert added.json["reasons"] == [RESERVED_REASON]
        await live.until(lambda m: m.get("appliance", {}).get("status") == "grey")
        # The box made its administrator and restarts (the simulator waits `setup_restart`).
        assert await box.sleep.next_delay(release=False) == 5.0
        admin = box.store.state.admin
        assert admin is not None
        assert admin.username == "admin"
        assert admin.email == "it@acme.example"
        assert admin.statistics is True
        assert admin.verify("admin", BOX_PASSWORD)
        rows = (await api.get(f"/api/v1/organizations/{org_id}/appliances")).json["appliances"]
        assert [(r["name"], r["status"], r["connected"]) for r in rows] == [
            ("Brno box", "grey", False)
        ]
        box.sleep.release_all()
        await box.until("linked")
        await live.until(
            lambda m: (
                m.get("appliance", {}).get("status") == "green"
                and m["appliance"]["connected"] is True
            )
        )
    assert box.store.state.name == "Brno box"
    # The credentials were never stored by the hub, nor logged by hub or simulator.
    for path in (hub.config.data_dir).rglob("*"):
        if path.is_file():
            assert BOX_PASSWORD.encode() not in path.read_bytes(), path
    out, err = capfd.readouterr()
    assert BOX_PASSWORD not in out + err


async def test_existing_administrator_must_be_the_boxs_own(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Wrong credentials: the box's answer is shown, nothing is added, the box still waits and
    a second try with the right ones works. Asking for a new administrator is refused too."""
    box = Box(hub, tmp_path / "box", admin=BoxAdmin.create("admin", BOX_PASSWORD))
    try:
        await box.until("pairing")
        org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        await found(api)
        wrong = await api.post(
            f"/api/v1/organizations/{org_id}/boxes",
            setup_new(box=box.fingerprint, admin="existing", password="not-the-password"),
        )
        assert wrong.status == 400
        assert wrong.json["error"]["field"] == "password"
        assert "user name or password is not correct" in wrong.json["error"]["message"]
        second_admin = await api.post(
            f"/api/v1/organizations/{org_id}/boxes", setup_new(box=box.fingerprint)
        )
        assert second_admin.status == 400
        assert "already has an administrator" in second_admin.json["error"]["message"]
        assert (await api.get(f"/api/v1/organizations/{org_id}/appliances")).json == {
            "appliances": []
        }
        assert box.link.view.phase == "pairing"
        right = await api.post(
            f"/api/v1/organizations/{org_id}/boxes",
            setup_new(box=box.fingerprint, admin="existing", email=None, statistics=None),
        )
        assert right.status == 201, right
        box.sleep.release_all()
        await box.until("linked")
    finally:
        await box.stop()


async def test_finish_checks_the_form_before_the_box_hears_anything(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, box: Box
) -> None:
    """EULA not accepted, a short new password, a bad email, a bad serial, an empty name: each
    is a 400 naming the field, and the box stays untouched."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    url = f"/api/v1/organizations/{org_id}/boxes"
    cases = {
        "eula_accepted": setup_new(box=box.fingerprint, eula_accepted=False),
        "password": setup_new(box=box.fingerprint, password="short"),
        "email": setup_new(box=box.fingerprint, email="not-an-address"),
        "serial": setup_new(box=box.fingerprint, serial="SRL123"),
        "name": setup_new(" ", box=box.fingerprint),
        "username": setup_new(box=box.fingerprint, username=""),
    }
    for field, body in cases.items():
        result = await api.post(url, body)
        assert result.status == 400, (field, result)
        assert result.json["error"]["field"] == field
    assert box.store.state.admin is None
    assert box.link.view.phase == "pairing"


async def test_unknown_serial_is_explained_and_guessing_is_throttled(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """No box with that serial: a 404 that says what to check; after 10 misses, 429."""
    await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    for attempt in range(10):
        miss = await api.post("/api/v1/appliances/find-box", {"serial": f"SRLNMR00000{attempt}"})
        assert miss.status == 404
        assert "Check the number on the box's label" in miss.json["error"]["message"]
    throttled = await api.post("/api/v1/appliances/find-box", {"serial": "SRLNMR999999"})
    assert throttled.status == 429
    assert throttled.headers.get("Retry-After")
    bad = await api.post("/api/v1/appliances/find-box", {"serial": "12"})
    assert bad.status == 400
    assert bad.json["error"]["field"] == "serial"


async def test_two_sockets_claiming_one_serial_get_no_credentials(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, box: Box
) -> None:
    """A forger claiming the box's serial makes the hub refuse to guess; a Finish naming a box
    other than the one found is refused; neither socket gets a `setup`."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    forger = TestAppliance(hub.url, str(hub.config.data_dir / "tls" / "cert.pem"))
    assert (await forger.connect(serial=SERIAL)).type == "pairing"
    refused = await api.post("/api/v1/appliances/find-box", {"serial": SERIAL})
    assert refused.status == 409
    assert "More than one appliance" in refused.json["error"]["message"]
    finish = await api.post(f"/api/v1/organizations/{org_id}/boxes", setup_new(box=box.fingerprint))
    assert finish.status == 409
    await forger.hang_up()
    # With only the forger left, a Finish for the box found earlier must not reach the forger.
    await box.stop()
    forger2 = TestAppliance(hub.url, str(hub.config.data_dir / "tls" / "cert.pem"))
    assert (await forger2.connect(serial=SERIAL)).type == "pairing"
    assert (await found(api))["box"] == public_key_id(forger2.public_key)
    wrong_box = await api.post(
        f"/api/v1/organizations/{org_id}/boxes", setup_new(box=box.fingerprint)
    )
    assert wrong_box.status == 404
    assert "no longer connected" in wrong_box.json["error"]["message"]
    await forger2.hang_up()
    assert box.store.state.admin is None


async def test_another_organization_cannot_claim_a_box_through_mine(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, box: Box
) -> None:
    """Finishing into an organization one is not a member of answers 404 and sends nothing;
    once added, the serial answers "already added" and the box is invisible to others."""
    org_a = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    bob = api_session(hub, "bob-browser")
    org_b = await member(bob, smtp_server, "bob@other.example", "Bob Brown")
    await found(bob)
    sneaky = await bob.post(f"/api/v1/organizations/{org_a}/boxes", setup_new(box=box.fingerprint))
    assert sneaky.status == 404
    assert box.store.state.admin is None
    added = await api.post(f"/api/v1/organizations/{org_a}/boxes", setup_new(box=box.fingerprint))
    assert added.status == 201
    again = await bob.post("/api/v1/appliances/find-box", {"serial": SERIAL})
    assert again.status == 409
    assert again.json["error"]["message"] == "This box is already added to MyKerio."
    box.sleep.release_all()
    await box.until("linked")
    assert (await bob.get(f"/api/v1/organizations/{org_b}/appliances")).json == {"appliances": []}
    assert (await bob.get(f"/api/v1/organizations/{org_a}/appliances")).status == 404


async def test_guessing_a_boxs_password_through_the_hub_is_throttled(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """After 5 wrong administrator passwords for a box, the user may not try again for 15
    minutes, and neither may anyone else for that box."""
    box = Box(hub, tmp_path / "box", admin=BoxAdmin.create("admin", BOX_PASSWORD))
    try:
        await box.until("pairing")
        org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        for attempt in range(5):
            wrong = await api.post(
                f"/api/v1/organizations/{org_id}/boxes",
                setup_new(box=box.fingerprint, admin="existing", password=f"guess-{attempt}"),
            )
            assert wrong.status == 400, wrong
        again = await api.post(
            f"/api/v1/organizations/{org_id}/boxes",
            setup_new(box=box.fingerprint, admin="existing", password=BOX_PASSWORD),
        )
        assert again.status == 429
        bob = api_session(hub, "bob-browser")
        await member(bob, smtp_server, "bob@other.example", "Bob Brown")
        assert (await bob.post("/api/v1/appliances/find-box", {"serial": SERIAL})).status == 429
        assert box.link.view.phase == "pairing"
    finally:
        await box.stop()


async def test_a_serial_claimed_again_after_the_box_is_added_is_not_found(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, box: Box
) -> None:
    """Once the box is added, a forger claiming its serial is never "found" (no credentials can
    be sent to it); a serial from anything but Kerio Control is a protocol error."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    added = await api.post(f"/api/v1/organizations/{org_id}/boxes", setup_new(box=box.fingerprint))
    assert added.status == 201
    box.sleep.release_all()
    await box.until("linked")
    forger = TestAppliance(hub.url, str(hub.config.data_dir / "tls" / "cert.pem"))
    assert (await forger.connect(serial=SERIAL)).type == "pairing"
    refused = await api.post("/api/v1/appliances/find-box", {"serial": SERIAL})
    assert refused.status == 409
    assert refused.json["error"]["message"] == "This box is already added to MyKerio."
    await forger.hang_up()
    connect = TestAppliance(hub.url, str(hub.config.data_dir / "tls" / "cert.pem"), "connect")
    answer = await connect.connect(serial="SRLNMR654321")
    assert (answer.type, answer.body["code"]) == ("error", "bad_body")
    assert await connect.closed() == 4000


async def test_a_box_being_set_up_cannot_be_added_by_its_code_and_gets_a_new_one_after(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Setting up a box withdraws its "add this appliance" code, so nobody adds it elsewhere
    meanwhile; when the box refuses, it waits on with a fresh code that works."""
    box = Box(hub, tmp_path / "box", admin=BoxAdmin.create("admin", BOX_PASSWORD))
    try:
        first = await box.until("pairing")
        assert first.add_link is not None
        old_code = first.add_link.split("code=")[1]
        org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        wrong = await api.post(
            f"/api/v1/organizations/{org_id}/boxes",
            setup_new(box=box.fingerprint, admin="existing", password="not-it"),
        )
        assert wrong.status == 400
        stale = await api.post("/api/v1/appliances/pairing-preview", {"code": old_code})
        assert stale.status == 404
        fresh = await box.link.wait_for(
            lambda view: view.add_link is not None and old_code not in view.add_link, WAIT
        )
        assert fresh.add_link is not None
        added = await api.post(
            f"/api/v1/organizations/{org_id}/appliances",
            {"code": fresh.add_link.split("code=")[1], "name": "Brno box"},
        )
        assert added.status == 201, added
        await box.until("linked")
    finally:
        await box.stop()


MAKER_PEM, MAKER_PUBLIC = new_identity()


@pytest.fixture
async def certifying_hub(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: Any
) -> AsyncIterator[Hub]:
    """A hub that knows the box maker's key ([hub] factory_keys)."""
    config = hub_config_for(
        tmp_path, smtp_server, sms_gateway, **{"hub.factory_keys": b64url(MAKER_PUBLIC)}
    )
    async with running_hub(config, clock) as hub:
        yield hub


async def test_with_maker_keys_only_the_certified_box_is_found(
    certifying_hub: Hub, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """Forgers claiming the serial, without a signature or with the box's signature copied
    onto their own key, are passed over: Find shows the real box, certified, and its set-up
    goes to it alone."""
    hub = certifying_hub
    api = api_session(hub)
    box = Box(hub, tmp_path / "box", maker_pem=MAKER_PEM)
    forgers = [TestAppliance(hub.url, str(hub.config.data_dir / "tls" / "cert.pem"))]
    try:
        await box.until("pairing")
        copied = sign_factory(MAKER_PEM, SERIAL, box.store.public_key)
        forgers.append(TestAppliance(hub.url, str(hub.config.data_dir / "tls" / "cert.pem")))
        assert (await forgers[0].connect(serial=SERIAL)).type == "pairing"
        pairing = await forgers[1].connect(serial=SERIAL, factory_signature=b64url(copied))
        assert pairing.type == "pairing"
        org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        shown = await found(api)
        assert (shown["box"], shown["certified"]) == (box.fingerprint, True)
        added = await api.post(
            f"/api/v1/organizations/{org_id}/boxes", setup_new(box=box.fingerprint)
        )
        assert added.status == 201, added
        box.sleep.release_all()
        await box.until("linked")
    finally:
        for forger in forgers:
            forger.close()
        await box.stop()


async def test_with_maker_keys_an_uncertified_box_is_not_found(
    certifying_hub: Hub, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """A box without the maker's signature is not found by serial (it can still be added with
    its "add this appliance" link)."""
    hub = certifying_hub
    api = api_session(hub)
    box = Box(hub, tmp_path / "box")
    try:
        await box.until("pairing")
        await member(api, smtp_server, "ana@acme.example", "Ana Novak")
        missing = await api.post("/api/v1/appliances/find-box", {"serial": SERIAL})
        assert missing.status == 404
    finally:
        await box.stop()


async def test_a_box_that_does_not_answer_gets_503_a_second_set_up_meanwhile_409(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The set-up is an ask to the box's connection: while the box thinks, a second Finish is
    refused (409); a box that never answers gets 503 once the set-up times out, and it is sent a
    fresh pairing code (its old one was withdrawn for the set-up)."""
    import web.api_appliances

    monkeypatch.setattr(web.api_appliances, "SETUP_TIMEOUT", 0.5)
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    silent = TestAppliance(hub.url, str(hub.config.data_dir / "tls" / "cert.pem"))
    first_code = await silent.connect(serial=SERIAL)
    assert first_code.type == "pairing"
    shown = await found(api)
    path = f"/api/v1/organizations/{org_id}/boxes"
    finish = asyncio.create_task(api.post(path, setup_new(box=shown["box"])))
    async with asyncio.timeout(WAIT):
        setup = await silent.receive()  # the box hears it, and says nothing
    assert setup.type == "setup"
    second = await api.post(path, setup_new(box=shown["box"]))
    assert second.status == 409, second
    assert "setting up this box" in second.json["error"]["message"]
    timed_out = await finish
    assert timed_out.status == 503, timed_out
    async with asyncio.timeout(WAIT):
        renewed = await silent.receive()
    assert renewed.type == "pairing"
    assert renewed.body["code"] != first_code.body["code"]
    await silent.hang_up()
