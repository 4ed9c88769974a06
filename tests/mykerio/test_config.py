"""Tests of mykerio/config.py: defaults, file, environment, overrides and their errors."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from mykerio.config import Config, load_config, sections
from mykerio.errors import ConfigError
from mykerio.protocol.identity import b64url

ROOT = Path(__file__).resolve().parents[2]


def test_default_toml_documents_every_key_with_its_default() -> None:
    """config/default.toml holds exactly the known keys, each at the code's default value."""
    document = tomllib.loads((ROOT / "config" / "default.toml").read_text())
    defaults = Config()
    expected = {
        name: {f.name: getattr(getattr(defaults, name), f.name) for f in dataclasses.fields(cls)}
        for name, cls in sections().items()
    }
    assert document == expected
    assert load_config(ROOT / "config" / "default.toml") == defaults


def test_environment_overrides_file(tmp_path: Path) -> None:
    """MYKERIO_SECTION_KEY overrides the file, converted to the key's type."""
    file = tmp_path / "hub.toml"
    file.write_text("[server]\nport = 9000\n[hub]\ndev_mode = true\n")
    config = load_config(
        file, {"MYKERIO_SERVER_PORT": "9443", "MYKERIO_STORE_URI": "mongodb://x/db"}
    )
    assert config.server.port == 9443
    assert config.hub.dev_mode is True
    assert config.store.uri == "mongodb://x/db"


def test_overrides_win_over_environment() -> None:
    """Command-line overrides beat the environment."""
    config = load_config(env={"MYKERIO_SERVER_PORT": "9443"}, overrides={"server.port": 7000})
    assert config.server.port == 7000


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("[server]\nprot = 1\n", "did you mean 'port'?"),
        ("[sever]\nport = 1\n", "did you mean 'server'?"),
        ("port = 1\n", r"must be a \[section\]"),
    ],
)
def test_unknown_file_key_stops_with_a_hint(tmp_path: Path, text: str, hint: str) -> None:
    """A misspelt key or section in the file stops start-up and suggests the right name."""
    file = tmp_path / "hub.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=hint):
        load_config(file)


def test_unknown_environment_variable_stops_with_a_hint() -> None:
    """A misspelt MYKERIO_ variable stops start-up and names the closest real one."""
    with pytest.raises(ConfigError, match="did you mean 'MYKERIO_SERVER_PORT'"):
        load_config(env={"MYKERIO_SERVER_PROT": "1"})


def test_test_and_config_path_variables_are_not_settings() -> None:
    """MYKERIO_CONFIG and MYKERIO_TEST_* are not mistaken for settings."""
    load_config(env={"MYKERIO_CONFIG": "x.toml", "MYKERIO_TEST_MONGO_URI": "mongodb://y"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MYKERIO_SERVER_PORT": "eighty"}, "expected an integer"),
        ({"MYKERIO_SERVER_TLS": "maybe"}, "expected true or false"),
        ({"MYKERIO_LOG_FORMAT": "xml"}, "expected one of auto, json, console"),
        ({"MYKERIO_SERVER_PORT": "70000"}, "server.port must be"),
        ({"MYKERIO_SERVER_TLS_CERT": "/x.pem"}, "must be set together"),
        ({"MYKERIO_HUB_FACTORY_KEYS": "not-a-key"}, "hub.factory_keys .* Ed25519 public key"),
        ({"MYKERIO_HUB_FACTORY_KEYS": "A" * 43 + ",x"}, "'x'... is not one"),
    ],
)
def test_bad_values_are_refused_clearly(env: dict[str, str], message: str) -> None:
    """A value of the wrong type or range is refused with a message naming the key."""
    with pytest.raises(ConfigError, match=message):
        load_config(env=env)


def test_unreadable_or_invalid_file(tmp_path: Path) -> None:
    """A missing file or broken TOML is a clear configuration error."""
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_config_is_frozen() -> None:
    """Configuration objects cannot be changed after loading."""
    config = load_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.server.port = 1  # type: ignore[misc]


def test_factory_keys_are_read_as_raw_public_keys() -> None:
    """[hub] factory_keys: comma-separated base64url keys, spaces allowed, empty parts ignored."""
    second = b64url(b"\xff" * 32)
    config = load_config(env={"MYKERIO_HUB_FACTORY_KEYS": " " + "A" * 43 + " ,, " + second})
    assert config.hub.factory_public_keys == (bytes(32), b"\xff" * 32)
