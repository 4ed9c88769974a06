"""Configuration: typed, frozen settings loaded from TOML, overridden by `MYKERIO_*` variables.

Precedence, lowest first: the defaults below (documented key by key in `config/default.toml`),
an optional TOML file, `MYKERIO_<SECTION>_<KEY>` environment variables, then command-line
overrides. An unknown section or key stops start-up with a "did you mean …" hint, because a
misspelt setting that is silently ignored is worse than no setting.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mykerio.errors import ConfigError
from mykerio.protocol.identity import PUBLIC_KEY_BYTES, from_b64url

ENV_PREFIX = "MYKERIO_"
# Variables with the prefix that are not settings: the config file's own path and test knobs.
_ENV_NOT_SETTINGS = ("MYKERIO_CONFIG", "MYKERIO_TEST_")


@dataclasses.dataclass(frozen=True, slots=True)
class ServerConfig:
    """The HTTP(S) listener."""

    host: str = "127.0.0.1"
    port: int = 8443
    tls: bool = True
    tls_cert: str = ""
    tls_key: str = ""
    max_body_bytes: int = 10 * 1024 * 1024
    xheaders: bool = False
    idle_timeout: float = 30.0
    body_timeout: float = 60.0


@dataclasses.dataclass(frozen=True, slots=True)
class HubConfig:
    """Where the hub keeps its files and how it is reached."""

    data_dir: str = "data"
    public_url: str = ""
    dev_mode: bool = False
    factory_keys: str = ""
    operators: str = ""

    @property
    def operator_emails(self) -> frozenset[str]:
        """The hub operators' addresses (`operators`, comma-separated), lowercased."""
        return frozenset(part.strip().lower() for part in self.operators.split(",") if part.strip())

    @property
    def factory_public_keys(self) -> tuple[bytes, ...]:
        """The box makers' Ed25519 public keys (`factory_keys`, checked when loaded)."""
        return tuple(
            from_b64url(part.strip()) for part in self.factory_keys.split(",") if part.strip()
        )


@dataclasses.dataclass(frozen=True, slots=True)
class StoreConfig:
    """Which store holds the hub's data."""

    uri: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class MailConfig:
    """Outgoing email."""

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout: float = 30.0
    smtp_verify_certificates: bool = True
    sender: str = "MyKerio <no-reply@localhost>"
    outbox_dir: str = "outbox"
    retry_initial: float = 5.0
    retry_max: float = 600.0
    max_attempts: int = 10


@dataclasses.dataclass(frozen=True, slots=True)
class SmsConfig:
    """The HTTP gateway that delivers SMS codes."""

    gateway_url: str = ""
    gateway_authorization: str = ""
    gateway_body: str = '{"to": "{to}", "text": "{text}"}'
    gateway_content_type: str = "application/json"
    gateway_timeout: float = 10.0


@dataclasses.dataclass(frozen=True, slots=True)
class AccountsConfig:
    """Account security settings that operators may tune."""

    audit_retention_days: int = 365
    housekeeping_interval: float = 3600.0
    password_hash_memory_kib: int = 65536
    password_hash_iterations: int = 3
    session_lifetime_hours: float = 12.0
    persistent_session_days: int = 30


@dataclasses.dataclass(frozen=True, slots=True)
class LogConfig:
    """Log format and verbosity."""

    format: str = "auto"
    level: str = "info"


@dataclasses.dataclass(frozen=True, slots=True)
class ActorsConfig:
    """The actor runtime and its supervisor."""

    dispatch_slice_ms: float = 2.0
    restart_backoff_initial: float = 0.1
    restart_backoff_max: float = 30.0
    restart_backoff_reset_after: float = 60.0
    ask_timeout: float = 30.0
    accounts_workers: int = 8


@dataclasses.dataclass(frozen=True, slots=True)
class ShutdownConfig:
    """Graceful shutdown on SIGTERM/SIGINT."""

    deadline: float = 10.0


@dataclasses.dataclass(frozen=True, slots=True)
class MetricsConfig:
    """What `/metrics` measures."""

    loop_lag_interval: float = 0.25


@dataclasses.dataclass(frozen=True, slots=True)
class AppliancesConfig:
    """Limits on what one appliance connection may send (docs/protocol.md, "Liveness")."""

    message_burst: int = 120
    message_rate: float = 10.0
    status_coalesce_seconds: float = 0.0
    # Appliance handshakes in progress at once, per usable core (mykerio.appliances.admission).
    handshakes_per_core: int = 64


@dataclasses.dataclass(frozen=True, slots=True)
class BackupsConfig:
    """Configuration backups uploaded by appliances (guide 2.6; docs/protocol.md 9.6)."""

    max_bytes: int = 64 * 1024 * 1024  # per backup file
    uploads_per_hour: int = 10  # per appliance
    keep: int = 5  # per appliance, the newest
    idle_timeout: float = 60.0  # seconds an upload may go without a byte


@dataclasses.dataclass(frozen=True, slots=True)
class RelayConfig:
    """The notification relay for appliances' own emails (guide 3.3, 5.1; protocol 9.9)."""

    from_address: str = "relay@localhost"
    from_name: str = "{appliance} via MyKerio"
    bounce_domain: str = ""  # "" : the domain of from_address
    source_quota: int = 300
    max_attempts: int = 30
    inbound_smtp: bool = False
    inbound_host: str = "127.0.0.1"
    inbound_port: int = 2525


@dataclasses.dataclass(frozen=True, slots=True)
class NotificationsConfig:
    """Online/offline emails and appliance notifications (guide 3.1, 3.2; issue 15)."""

    grace_seconds: float = 120.0  # an organization's default grace before "offline"
    batch_seconds: float = 120.0  # one email per person per window
    flap_floor_hours: float = 6.0  # at most one offline email per appliance and person
    webhook_timeout: float = 10.0  # seconds a webhook endpoint has to answer
    webhook_retry_initial: float = 10.0  # seconds before the first retry (doubling, ≤ 1 h)
    webhook_max_attempts: int = 8
    # Webhooks may post to loopback and private addresses (a trusted, internal hub only).
    webhook_allow_private: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class TunnelConfig:
    """ "Open administration": the appliances' own admin UIs on an origin of their own (guide
    2.1, 2.8; docs/protocol.md 9.8)."""

    enabled: bool = True
    port: int = 0  # the tunnel origin's port on `server.host`; 0: any free port
    public_url: str = ""  # how browsers reach it; empty: derived like `hub.public_url`
    max_streams: int = 6  # requests at once per appliance; more wait in line
    idle_timeout: float = 60.0  # seconds a request may go without a byte either way
    ticket_seconds: float = 30.0  # how long an "Open administration" ticket lasts (<= 60)


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    """Every setting of the hub, grouped by section."""

    server: ServerConfig = ServerConfig()
    hub: HubConfig = HubConfig()
    store: StoreConfig = StoreConfig()
    mail: MailConfig = MailConfig()
    sms: SmsConfig = SmsConfig()
    accounts: AccountsConfig = AccountsConfig()
    log: LogConfig = LogConfig()
    actors: ActorsConfig = ActorsConfig()
    shutdown: ShutdownConfig = ShutdownConfig()
    metrics: MetricsConfig = MetricsConfig()
    appliances: AppliancesConfig = AppliancesConfig()
    backups: BackupsConfig = BackupsConfig()
    relay: RelayConfig = RelayConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    tunnel: TunnelConfig = TunnelConfig()

    @property
    def data_dir(self) -> Path:
        """The data directory as a path (relative paths are relative to the working directory)."""
        return Path(self.hub.data_dir)


_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("log", "format"): ("auto", "json", "console"),
    ("mail", "smtp_security"): ("starttls", "tls", "none"),
    ("log", "level"): ("debug", "info", "warning", "error"),
}


def sections() -> dict[str, type[Any]]:
    """The section names and their dataclasses, in declaration order."""
    return {f.name: type(f.default) for f in dataclasses.fields(Config)}


def _hint(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known))}"


def _coerce(section: str, key: str, value: Any, default: Any, origin: str) -> Any:
    """Check (and for strings from the environment, convert) one value to its field's type."""
    where = f"{section}.{key} (from {origin})"
    if isinstance(default, bool):
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if isinstance(default, int):
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(value) if isinstance(value, str) else _exact(value, int)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
    if isinstance(default, float):
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value) if isinstance(value, str | int) else _exact(value, float)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    choices = _CHOICES.get((section, key))
    if choices and value not in choices:
        raise ConfigError(f"{where}: expected one of {', '.join(choices)}, got {value!r}")
    if (section, key) == ("hub", "factory_keys"):
        _check_factory_keys(value, where)
    return value


def _check_factory_keys(value: str, where: str) -> None:
    for part in (part.strip() for part in value.split(",")):
        if not part:
            continue
        try:
            key = from_b64url(part)
        except ValueError:
            key = b""
        if len(key) != PUBLIC_KEY_BYTES:
            raise ConfigError(
                f"{where}: each key is an Ed25519 public key in unpadded base64url "
                f"(43 characters), comma-separated; {part[:12]!r}... is not one"
            )


def _exact(value: Any, kind: type[Any]) -> Any:
    if not isinstance(value, kind):
        raise TypeError
    return value


def _apply(
    values: dict[str, dict[str, Any]], section: str, key: str, value: Any, origin: str
) -> None:
    known_sections = sections()
    if section not in known_sections:
        raise ConfigError(
            f"unknown config section {section!r} (from {origin})"
            + _hint(section, list(known_sections))
        )
    defaults = known_sections[section]()
    known_keys = [f.name for f in dataclasses.fields(defaults)]
    if key not in known_keys:
        raise ConfigError(
            f"unknown config key {section}.{key} (from {origin})" + _hint(key, known_keys)
        )
    values.setdefault(section, {})[key] = _coerce(
        section, key, value, getattr(defaults, key), origin
    )


def _from_env(values: dict[str, dict[str, Any]], env: Mapping[str, str]) -> None:
    known = {
        f"{ENV_PREFIX}{section.upper()}_{f.name.upper()}": (section, f.name)
        for section, cls in sections().items()
        for f in dataclasses.fields(cls)
    }
    for name, value in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name.startswith(_ENV_NOT_SETTINGS):
            continue
        if name not in known:
            raise ConfigError(f"unknown environment variable {name}" + _hint(name, list(known)))
        section, key = known[name]
        _apply(values, section, key, value, f"environment variable {name}")


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build the configuration from defaults, a TOML file, the environment and overrides.

    `overrides` maps dotted names (`"server.port"`) to values, for command-line flags.
    Raises `ConfigError` with a hint for unknown names and wrongly typed values.
    """
    values: dict[str, dict[str, Any]] = {}
    if path is not None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        for section, table in document.items():
            if not isinstance(table, dict):
                raise ConfigError(
                    f"{path}: top-level key {section!r} must be a [section]"
                    + _hint(section, list(sections()))
                )
            for key, value in table.items():
                _apply(values, section, key, value, str(path))
    _from_env(values, env or {})
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        _apply(values, section, key, value, "command line")
    built = {name: cls(**values.get(name, {})) for name, cls in sections().items()}
    config = Config(**built)
    _validate(config)
    return config


def _validate(config: Config) -> None:
    if not 0 <= config.server.port < 65536:
        raise ConfigError(
            f"server.port must be 0-65535 (0: any free port), got {config.server.port}"
        )
    if bool(config.server.tls_cert) != bool(config.server.tls_key):
        raise ConfigError("server.tls_cert and server.tls_key must be set together")
    if config.server.idle_timeout <= 0 or config.server.body_timeout <= 0:
        raise ConfigError("server.idle_timeout and server.body_timeout must be positive")
    if config.shutdown.deadline <= 0:
        raise ConfigError("shutdown.deadline must be positive")
    if config.actors.accounts_workers < 1:
        raise ConfigError("actors.accounts_workers must be at least 1")
    if config.accounts.housekeeping_interval < 1:
        raise ConfigError("accounts.housekeeping_interval must be at least 1 second")
    if config.accounts.session_lifetime_hours <= 0 or config.accounts.persistent_session_days < 1:
        raise ConfigError(
            "accounts.session_lifetime_hours must be above 0 and "
            "accounts.persistent_session_days at least 1"
        )
    if config.accounts.audit_retention_days < 1:
        raise ConfigError("accounts.audit_retention_days must be at least 1")
    if (
        config.accounts.password_hash_memory_kib < 19456
        or config.accounts.password_hash_iterations < 2
    ):
        raise ConfigError(
            "accounts.password_hash_memory_kib must be at least 19456 and "
            "password_hash_iterations at least 2 (OWASP's Argon2id minimum)"
        )
    if config.appliances.message_burst < 1 or config.appliances.message_rate <= 0:
        raise ConfigError("appliances.message_burst must be at least 1 and message_rate positive")
    if config.appliances.handshakes_per_core < 1:
        raise ConfigError("appliances.handshakes_per_core must be at least 1")
    if config.appliances.status_coalesce_seconds < 0:
        raise ConfigError("appliances.status_coalesce_seconds must not be negative")
    backups = config.backups
    if min(backups.max_bytes, backups.uploads_per_hour, backups.keep) < 1:
        raise ConfigError("backups.max_bytes, uploads_per_hour and keep must be at least 1")
    if backups.idle_timeout <= 0:
        raise ConfigError("backups.idle_timeout must be positive")
    alerts = config.notifications
    if not 0 <= alerts.grace_seconds <= 1800:
        raise ConfigError("notifications.grace_seconds must be from 0 to 1800 (30 minutes)")
    if alerts.batch_seconds < 0 or alerts.flap_floor_hours < 0:
        raise ConfigError("notifications.batch_seconds and flap_floor_hours must not be negative")
    tunnel = config.tunnel
    if not 0 <= tunnel.port <= 65535 or not 1 <= tunnel.max_streams <= 8:
        raise ConfigError("tunnel.port must be 0 to 65535 and tunnel.max_streams 1 to 8")
    if tunnel.idle_timeout <= 0 or not 0 < tunnel.ticket_seconds <= 60:
        raise ConfigError("tunnel.idle_timeout must be positive, tunnel.ticket_seconds 1 to 60")
    if config.actors.restart_backoff_initial > config.actors.restart_backoff_max:
        raise ConfigError("actors.restart_backoff_initial must not exceed restart_backoff_max")
