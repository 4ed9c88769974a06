"""Tests of mykerio/agent/cli.py and fleet.py: the `simulate` flags, fleets, the process."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from mykerio.agent.backups import BackupOptions
from mykerio.agent.cli import add_simulate_arguments, options_from
from mykerio.agent.endpoint import HubEndpoint
from mykerio.agent.fleet import Fleet, FleetOptions
from mykerio.agent.identity import IdentityStore
from mykerio.agent.link import ApplianceLink
from mykerio.agent.profile import Profile
from mykerio.protocol.errors import CloseCode
from mykerio.protocol.identity import b64url, new_identity, verify_factory
from tests.agent.conftest import FakeSleep
from tests.agent.fake_hub import WAIT, FakeHub
from web.cli import main as mykerio_main

REPO = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> argparse.Namespace:
    """The flags of `simulate`, parsed."""
    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_flags_and_their_defaults(tmp_path: Path) -> None:
    """One Kerio Control 9.4.0 with its admin UI on any port, checking the hub's certificate."""
    options = options_from(parse("--hub", "https://localhost:8443", "--state", str(tmp_path)))
    assert (options.profile.product, options.profile.version) == ("control", "9.4.0")
    assert options.endpoint.socket_url == "wss://localhost:8443/appliance/v1/socket"
    assert (options.count, options.ui_port, options.state_dir) == (1, 0, tmp_path)
    several = options_from(
        parse("--hub", "https://h", "--state", str(tmp_path), "--count", "3", "--name", "gw")
    )
    assert (several.count, several.ui_port, several.profile.host_name) == (3, None, "gw")
    connect = options_from(
        parse("--hub", "https://h", "--state", "d", "--product", "connect", "--multi-server")
    )
    assert connect.profile.multi_server
    assert options.profile.protocol == 2  # protocol version 2 unless told
    old = options_from(parse("--hub", "https://h", "--state", "d", "--protocol", "1"))
    assert old.profile.protocol == 1
    assert old.profile.hello_body(bytes(32))["versions"] == [1]
    assert "features" not in old.profile.hello_body(bytes(32))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--multi-server"], "only Kerio Connect"),
        (["--serial", "srlnmr123456"], "12 capital letters"),
        (["--product", "operator", "--serial", "SRLNMR123456"], "hardware box"),
        (["--serial", "SRLNMR123456", "--count", "2"], "without --count"),
        (["--count", "0"], "at least 1"),
        (["--version", "9.4 beta"], "version"),
        (["--admin", "admin:pw"], "--admin is the local administrator of a box"),
        (["--serial", "SRLNMR123456", "--admin", "nopassword"], "USER:PASSWORD"),
        (["--factory-key", "/nonexistent.pem"], "--factory-key certifies a box"),
        (["--serial", "SRLNMR123456", "--factory-key", "/nonexistent.pem"], "No such file"),
        (["--serial", "SRLNMR123456", "--setup-restart", "-1"], "0 to 600 seconds"),
    ],
)
def test_flags_that_clash_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    """`mykerio simulate` with impossible flags exits 2 and says why."""
    argv = ["simulate", "--hub", "https://localhost:8443", "--state", str(tmp_path), *flags]
    assert mykerio_main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("url", ["ftp://hub", "https://", "https://hub/?x=1", "localhost:8443"])
def test_a_hub_url_must_be_https(url: str) -> None:
    """The hub URL is https://host[:port][/path]; anything else is refused."""
    with pytest.raises(ValueError, match="hub URL"):
        HubEndpoint.of(url)


def test_cafile_and_insecure_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    """`--cafile` and `--insecure` cannot be given together."""
    with pytest.raises(SystemExit):
        parse("--hub", "https://h", "--state", "d", "--cafile", "c.pem", "--insecure")
    assert "not allowed with" in capsys.readouterr().err


async def test_a_fleet_runs_many_appliances_in_one_process(
    fake_hub: FakeHub, tmp_path: Path
) -> None:
    """`--count 3`: three keys, state in DIR/0..2, host names NAME-i, no admin UIs."""
    options = FleetOptions(
        profile=Profile("control", "9.4.0", host_name="gw"),
        endpoint=HubEndpoint.of(fake_hub.url, cafile=fake_hub.cafile),
        state_dir=tmp_path / "fleet",
        count=3,
        ui_port=None,
    )

    def make_link(store: IdentityStore, profile: Profile, endpoint: HubEndpoint) -> ApplianceLink:
        return ApplianceLink(store, profile, endpoint, sleep=FakeSleep())

    fleet = Fleet(options, make_link)
    fleet.start()
    try:
        for appliance in fleet.appliances:
            await appliance.link.wait_for(lambda view: view.phase == "pairing", WAIT)
            assert appliance.ui is None
        keys = {connection.public_key for connection in fake_hub.connections}
        assert len(keys) == 3
        assert sorted(path.name for path in (tmp_path / "fleet").iterdir()) == ["0", "1", "2"]
        names = {appliance.link.view.profile.host_name for appliance in fleet.appliances}
        assert names == {"gw-0", "gw-1", "gw-2"}
    finally:
        await fleet.stop()
    assert {(await fake_hub.next_close()).code for _ in range(3)} == {CloseCode.GOING_AWAY}


async def test_python_m_mykerio_agent_runs_until_sigterm(fake_hub: FakeHub, tmp_path: Path) -> None:
    """The process prints its admin UI and the add link, serves /api/state, exits 0 on SIGTERM."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mykerio.agent",
        *("--hub", fake_hub.url, "--cafile", fake_hub.cafile, "--state", str(tmp_path / "s")),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        lines = await read_until(process, "MyKerio: Not added yet: open ")
        ui_url = next(line for line in lines if line.startswith("Admin UI: ")).split(": ", 1)[1]
        response = await AsyncHTTPClient().fetch(ui_url + "api/state")
        state: dict[str, Any] = json.loads(response.body)
        assert state["phase"] == "pairing"
        assert lines[-1] == f"MyKerio: Not added yet: open {state['link']}"
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(WAIT):
            assert await process.wait() == 0
        assert (await fake_hub.next_close()).code == CloseCode.GOING_AWAY
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def read_until(process: asyncio.subprocess.Process, prefix: str) -> list[str]:
    """The lines `process` prints up to and including the first that starts with `prefix`."""
    assert process.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(3 * WAIT):
        while not lines or not lines[-1].startswith(prefix):
            line = await process.stdout.readline()
            if not line:
                assert process.stderr is not None
                pytest.fail("the simulator exited: " + (await process.stderr.read()).decode())
            lines.append(line.decode().rstrip("\n"))
    return lines


async def test_a_factory_key_certifies_the_boxs_serial_and_key(tmp_path: Path) -> None:
    """`--factory-key` makes the box carry the maker's signature over its serial and key."""
    maker_pem, maker_public = new_identity()
    key_file = tmp_path / "maker.pem"
    key_file.write_bytes(maker_pem)
    argv = ["--hub", "https://h", "--state", str(tmp_path / "box"), "--serial", "SRLNMR123456"]
    options = options_from(parse(*argv, "--factory-key", str(key_file), "--ui-port", "0"))
    made: list[tuple[IdentityStore, Profile]] = []

    def make_link(store: IdentityStore, profile: Profile, endpoint: HubEndpoint) -> ApplianceLink:
        made.append((store, profile))
        return ApplianceLink(store, profile, endpoint, sleep=FakeSleep())

    fleet = Fleet(options, make_link=make_link)
    fleet.start()
    try:
        [(store, profile)] = made
        assert profile.factory_signature is not None
        assert verify_factory(
            maker_public, profile.factory_signature, "SRLNMR123456", store.public_key
        )
        assert profile.hello_body(bytes(32))["factory_signature"] == b64url(
            profile.factory_signature
        )
    finally:
        await fleet.stop()


def test_the_backup_flags(tmp_path: Path) -> None:
    """A day's schedule by default; --backup-every, --backup-size, --cut-backup-upload and
    --no-backups say otherwise; a negative schedule is refused."""
    plain = options_from(parse("--hub", "https://h", "--state", str(tmp_path)))
    assert plain.backups == BackupOptions(every=86400.0)
    flagged = options_from(
        parse(
            "--hub",
            "https://h",
            "--state",
            str(tmp_path),
            "--backup-every",
            "60",
            "--backup-size",
            "5000000",
            "--cut-backup-upload",
            "--no-backups",
        )
    )
    assert flagged.backups == BackupOptions(
        enabled=False, every=60.0, size=5_000_000, cut_first_upload=True
    )
    with pytest.raises(ValueError, match="--backup-every"):
        options_from(parse("--hub", "https://h", "--state", "d", "--backup-every", "-1"))
