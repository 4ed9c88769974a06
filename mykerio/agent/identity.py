"""The appliance's persistent identity and MyKerio settings, kept in its state directory.

Two files, each replaced atomically (written to a temporary file, flushed, renamed), both 0600:

- `identity.pem`: the appliance's Ed25519 private key (PKCS#8 PEM), made once; a new one only
  after the appliance was removed from MyKerio and the user enables the link again;
- `state.json`: the "Enable communication with MyKerio" flag, whether the appliance was removed,
  what the hub said in `welcome` (appliance id, name, organization, the pinned hub key) and the
  status knobs.

Writes are small and happen only when something changed (a welcome with news, a rename, a
knob flip), so they are done synchronously.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mykerio.agent.box import BoxAdmin
from mykerio.errors import InvalidInput
from mykerio.files import write_private
from mykerio.protocol.identity import (
    PUBLIC_KEY_BYTES,
    b64url,
    from_b64url,
    new_identity,
    public_key_id,
    public_key_of,
)
from mykerio.protocol.status import KNOB_NAMES, Knobs

KEY_FILE = "identity.pem"
STATE_FILE = "state.json"
STATE_FORMAT = 1


@dataclass(frozen=True, slots=True)
class AgentState:
    """What the appliance remembers about its MyKerio link besides its key."""

    enabled: bool = True
    removed: bool = False
    appliance_id: str | None = None
    name: str | None = None
    organization: str | None = None
    hub_key: bytes | None = None
    knobs: Knobs = field(default_factory=Knobs)
    admin: BoxAdmin | None = None  # a Kerio Control box's local administrator, once set up

    @property
    def added(self) -> bool:
        """Whether a hub has welcomed this appliance (and not removed it since)."""
        return self.appliance_id is not None

    def forgotten(self) -> AgentState:
        """This state after removal: no hub link, link disabled, a new key due on next enable."""
        return dataclasses.replace(
            self,
            enabled=False,
            removed=True,
            appliance_id=None,
            name=None,
            organization=None,
            hub_key=None,
        )

    def to_json(self) -> dict[str, object]:
        """The contents of `state.json`."""
        return {
            "format": STATE_FORMAT,
            "enabled": self.enabled,
            "removed": self.removed,
            "appliance_id": self.appliance_id,
            "name": self.name,
            "organization": self.organization,
            "hub_key": None if self.hub_key is None else b64url(self.hub_key),
            "knobs": self.knobs.to_json(),
            "admin": None if self.admin is None else self.admin.to_json(),
        }

    @classmethod
    def from_json(cls, data: object) -> AgentState:
        """The state in a parsed `state.json`; `ValueError` if it is not one."""
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise ValueError(f"not a version {STATE_FORMAT} appliance state")
        hub_key = _optional(data, "hub_key", str)
        key = None if hub_key is None else from_b64url(hub_key)
        if key is not None and len(key) != PUBLIC_KEY_BYTES:
            raise ValueError("hub_key is not an Ed25519 public key")
        return cls(
            enabled=_required_bool(data, "enabled"),
            removed=_required_bool(data, "removed"),
            appliance_id=_optional(data, "appliance_id", str),
            name=_optional(data, "name", str),
            organization=_optional(data, "organization", str),
            hub_key=key,
            knobs=knobs_from(_required(data, "knobs", dict)),
            admin=None if data.get("admin") is None else BoxAdmin.from_json(data["admin"]),
        )


def knobs_from(values: Mapping[str, object], base: Knobs | None = None) -> Knobs:
    """`base` (all off by default) with the knobs in `values` set; `InvalidInput` if bad.

    `values` may name any subset of the knobs; each value must be `true` or `false`.
    """
    unknown = sorted(set(values) - set(KNOB_NAMES))
    if unknown:
        raise InvalidInput("unknown knob; the knobs are " + ", ".join(KNOB_NAMES))
    if any(not isinstance(flag, bool) for flag in values.values()):
        raise InvalidInput("each knob must be true or false")
    current = (base or Knobs()).to_json()
    current.update({name: bool(flag) for name, flag in values.items()})
    return Knobs(**current)


class IdentityStore:
    """The state directory of one appliance: its key pair and `AgentState`, loaded at start."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        key_path = directory / KEY_FILE
        if key_path.exists():
            self._private_pem = key_path.read_bytes()
        else:
            self._private_pem = self._write_new_key()
        self.public_key = public_key_of(self._private_pem)
        state_path = directory / STATE_FILE
        if state_path.exists():
            try:
                self._state = AgentState.from_json(json.loads(state_path.read_text("utf-8")))
            except (ValueError, TypeError) as error:
                raise ValueError(f"{state_path} is not a valid appliance state: {error}") from error
        else:
            self._state = AgentState()
            self._write_state()

    @property
    def private_pem(self) -> bytes:
        """The private key, for signing `proof`; never logged, never sent."""
        return self._private_pem

    @property
    def key_id(self) -> str:
        """The public key's fingerprint, the name logs give this appliance."""
        return public_key_id(self.public_key)

    @property
    def state(self) -> AgentState:
        """The current state (an immutable value)."""
        return self._state

    def update(self, new_state: AgentState) -> bool:
        """Make `new_state` current and write it if it differs; whether it did."""
        if new_state == self._state:
            return False
        self._state = new_state
        self._write_state()
        return True

    def replace_key(self) -> None:
        """Make a new key pair (after removal, the old key stays revoked in the hub)."""
        self._private_pem = self._write_new_key()
        self.public_key = public_key_of(self._private_pem)

    def _write_new_key(self) -> bytes:
        private_pem, _ = new_identity()
        write_private(self.directory / KEY_FILE, private_pem)
        return private_pem

    def _write_state(self) -> None:
        text = json.dumps(self._state.to_json(), indent=2, sort_keys=True) + "\n"
        write_private(self.directory / STATE_FILE, text.encode("utf-8"))


def _required(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise ValueError(f"{key} must be a {kind.__name__}")
    return value


def _required_bool(data: dict[str, Any], key: str) -> bool:
    return bool(_required(data, key, bool))


def _optional(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise ValueError(f"{key} must be a {kind.__name__} or null")
    return value
