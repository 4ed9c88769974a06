"""Tests of mykerio/datadir.py: the first start's directory, secret and certificate."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509

from mykerio.clock import SystemClock
from mykerio.config import load_config
from mykerio.datadir import prepare_data_dir
from mykerio.errors import ConfigError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_creates_private_secrets_and_a_localhost_certificate(tmp_path: Path) -> None:
    """The data directory is 0700, secrets 0600, and the certificate names localhost."""
    config = load_config(overrides={"hub.data_dir": str(tmp_path / "data")})
    data = prepare_data_dir(config, SystemClock())
    assert mode(data.path) == 0o700
    assert mode(data.path / "secret.key") == 0o600
    assert data.tls_key is not None
    assert data.tls_cert is not None
    assert mode(data.tls_key) == 0o600
    cert = x509.load_pem_x509_certificate(data.tls_cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert len(data.secret_key) == 32


def test_second_start_keeps_the_same_secret_and_certificate(tmp_path: Path) -> None:
    """Restarting reuses the secret and certificate instead of making new ones."""
    config = load_config(overrides={"hub.data_dir": str(tmp_path / "data")})
    first = prepare_data_dir(config, SystemClock())
    assert first.tls_cert is not None
    cert = first.tls_cert.read_bytes()
    second = prepare_data_dir(config, SystemClock())
    assert second.secret_key == first.secret_key
    assert second.tls_cert is not None
    assert second.tls_cert.read_bytes() == cert


def test_damaged_secret_is_reported(tmp_path: Path) -> None:
    """A truncated secret file stops start-up with a clear message, and is left as it was."""
    config = load_config(overrides={"hub.data_dir": str(tmp_path)})
    (tmp_path / "secret.key").write_text("c2hvcnQ=")
    with pytest.raises(ConfigError, match="damaged"):
        prepare_data_dir(config, SystemClock())
    assert (tmp_path / "secret.key").read_text() == "c2hvcnQ="
