"""The data directory: made on first start with the hub's secret key and TLS certificate.

Layout: `secret.key` (32 random bytes, base64; signs cookies and keys encryption at rest),
`hub_ed25519.pem` (the hub's identity key, which appliances pin when they pair),
`tls/cert.pem` and `tls/key.pem` (self-signed for localhost unless the configuration names a
certificate), and the embedded store's files. The directory is mode 0700 and every secret 0600.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import secrets
from pathlib import Path

from mykerio.clock import Clock
from mykerio.config import Config
from mykerio.errors import ConfigError
from mykerio.files import write_private
from mykerio.protocol.identity import new_identity
from mykerio.tls import make_self_signed


@dataclasses.dataclass(frozen=True, slots=True)
class DataDir:
    """Paths and secrets the rest of the hub needs from the data directory."""

    path: Path
    secret_key: bytes
    tls_cert: Path | None
    tls_key: Path | None
    hub_key_pem: bytes = b""


def prepare_data_dir(config: Config, clock: Clock) -> DataDir:
    """Create what is missing (directory, secret, certificate) and load what is there."""
    path = config.data_dir.resolve()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create data directory {path}: {exc.strerror}") from None
    if not os.access(path, os.W_OK):
        raise ConfigError(f"data directory {path} is not writable")
    secret_file = path / "secret.key"
    if not secret_file.exists():
        write_private(secret_file, base64.urlsafe_b64encode(secrets.token_bytes(32)))
    secret_key = base64.urlsafe_b64decode(secret_file.read_bytes().strip())
    if len(secret_key) != 32:
        raise ConfigError(f"{secret_file} is damaged: expected 32 bytes of base64")
    cert, key = _tls_files(config, path, clock)
    hub_key_file = path / "hub_ed25519.pem"
    if not hub_key_file.exists():
        private_pem, _ = new_identity()
        write_private(hub_key_file, private_pem)
    return DataDir(
        path=path,
        secret_key=secret_key,
        tls_cert=cert,
        tls_key=key,
        hub_key_pem=hub_key_file.read_bytes(),
    )


def _tls_files(config: Config, path: Path, clock: Clock) -> tuple[Path | None, Path | None]:
    if not config.server.tls:
        return None, None
    if config.server.tls_cert:
        cert, key = Path(config.server.tls_cert), Path(config.server.tls_key)
        for file in (cert, key):
            if not file.is_file():
                raise ConfigError(f"TLS file {file} does not exist")
        return cert, key
    tls_dir = path / "tls"
    tls_dir.mkdir(mode=0o700, exist_ok=True)
    cert, key = tls_dir / "cert.pem", tls_dir / "key.pem"
    if not (cert.exists() and key.exists()):
        make_self_signed(cert, key, clock.now())
    return cert, key
