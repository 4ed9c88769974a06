"""Tests of mykerio/agent/identity.py: the appliance's key pair and state in its directory."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path

import pytest

from mykerio.agent.identity import KEY_FILE, STATE_FILE, AgentState, IdentityStore, knobs_from
from mykerio.errors import InvalidInput
from mykerio.protocol.identity import new_identity, public_key_of
from mykerio.protocol.status import Knobs


def test_identity_persists_across_restarts(tmp_path: Path) -> None:
    """Key, pinned hub key, id, name, organization, enabled flag and knobs survive a restart."""
    store = IdentityStore(tmp_path / "state")
    hub_key = new_identity()[1]
    store.update(
        dataclasses.replace(
            store.state,
            enabled=False,
            appliance_id="a1",
            name="Brno gateway",
            organization="example.com",
            hub_key=hub_key,
            knobs=Knobs(low_memory=True),
        )
    )
    again = IdentityStore(tmp_path / "state")
    assert again.public_key == store.public_key
    assert public_key_of(again.private_pem) == store.public_key
    assert again.state == store.state
    assert again.state.hub_key == hub_key
    assert again.state.added


def test_a_new_appliance_starts_enabled_and_unpaired(tmp_path: Path) -> None:
    """A fresh state directory gets a key pair and a state with the link on and nothing pinned."""
    store = IdentityStore(tmp_path / "new")
    assert store.state == AgentState()
    assert store.state.enabled
    assert not store.state.added
    assert store.state.hub_key is None
    assert len(store.key_id) == 32


def test_files_are_private_and_written_atomically(tmp_path: Path) -> None:
    """Both files are 0600, the key is PKCS#8 PEM, and no temporary file is left behind."""
    store = IdentityStore(tmp_path)
    store.update(dataclasses.replace(store.state, name="x", appliance_id="a1"))
    for name in (KEY_FILE, STATE_FILE):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert (tmp_path / KEY_FILE).read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert sorted(path.name for path in tmp_path.iterdir()) == [KEY_FILE, STATE_FILE]
    saved = json.loads((tmp_path / STATE_FILE).read_text())
    assert saved["format"] == 1
    assert saved["name"] == "x"


def test_an_unchanged_state_is_not_written(tmp_path: Path) -> None:
    """update() with the current state writes nothing and says so."""
    store = IdentityStore(tmp_path)
    assert not store.update(store.state)
    assert store.update(dataclasses.replace(store.state, enabled=False))


def test_forgetting_and_a_new_key(tmp_path: Path) -> None:
    """After removal the link is forgotten and disabled; replace_key() makes a new key pair."""
    store = IdentityStore(tmp_path)
    store.update(
        dataclasses.replace(store.state, appliance_id="a1", name="n", hub_key=new_identity()[1])
    )
    store.update(store.state.forgotten())
    assert store.state.removed
    assert not store.state.enabled
    assert (store.state.appliance_id, store.state.name, store.state.hub_key) == (None, None, None)
    old = store.public_key
    store.replace_key()
    assert store.public_key != old
    assert IdentityStore(tmp_path).public_key == store.public_key


def test_a_damaged_state_file_is_reported(tmp_path: Path) -> None:
    """A state file that is not a version 1 appliance state stops start-up with its path."""
    IdentityStore(tmp_path)
    (tmp_path / STATE_FILE).write_text('{"format": 1, "enabled": "yes"}')
    with pytest.raises(ValueError, match=r"state\.json"):
        IdentityStore(tmp_path)


def test_knobs_from_checks_names_and_values() -> None:
    """knobs_from() sets the named knobs on a base and refuses unknown names or non-booleans."""
    assert knobs_from({"low_memory": True}) == Knobs(low_memory=True)
    assert knobs_from({"low_memory": False}, Knobs(low_memory=True, update_available=True)) == (
        Knobs(update_available=True)
    )
    with pytest.raises(InvalidInput):
        knobs_from({"cpu_on_fire": True})
    with pytest.raises(InvalidInput):
        knobs_from({"low_memory": 1})
