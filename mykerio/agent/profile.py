"""What a simulated appliance is: product, product version, host name, serial, Multi-Server,
and the newest protocol version it speaks.

A `Profile` is fixed for the life of the process; it fills the `hello` message and names the
product in the texts the appliance shows ("Ready. You can manage this Kerio Control in MyKerio").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mykerio.protocol.envelope import JsonValue
from mykerio.protocol.identity import b64url
from mykerio.protocol.messages import NAME_CHARS, PRODUCTS
from mykerio.protocol.versions import PROTOCOL_VERSIONS, STREAMS_VERSION

Product = Literal["control", "connect", "operator"]

PRODUCT_TITLES: dict[str, str] = {
    "control": "Kerio Control",
    "connect": "Kerio Connect",
    "operator": "Kerio Operator",
}

_SERIAL = re.compile(r"[A-Z0-9]{12}")
_VERSION = re.compile(r"[0-9A-Za-z.+-]{1,32}")
# What a version 2 simulator declares: the echo and discard streams (for tests and benchmarks)
# and, but for Kerio Connect (whose own backups are whole mail stores, guide 2.6),
# configuration backups (mykerio.agent.backups).
SIMULATOR_FEATURES: dict[str, JsonValue] = {"diagnostics": [1], "notifications": [1]}
BACKUP_PRODUCTS = ("control", "operator")


@dataclass(frozen=True, slots=True)
class Profile:
    """One simulated appliance's fixed facts; `ValueError` when they cannot be true together."""

    product: Product
    version: str
    host_name: str | None = None
    serial: str | None = None
    multi_server: bool = False
    # The maker's signature over the serial and this box's key (sent as `factory_signature`).
    factory_signature: bytes | None = None
    # The newest protocol version it speaks (it offers every one up to it): 2, or 1 for an
    # appliance from before streams (`--protocol 1`).
    protocol: int = max(PROTOCOL_VERSIONS)
    # "Allow administration from MyKerio" (`--no-remote-admin` unticks it): declared in hello
    # as the feature `tunnel`, or `tunnel_off` when refused (docs/protocol.md, section 9.8).
    remote_admin: bool = True

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOL_VERSIONS:
            raise ValueError(
                "the protocol version is one of " + ", ".join(map(str, PROTOCOL_VERSIONS))
            )
        if self.product not in PRODUCTS:
            raise ValueError("the product is one of " + ", ".join(PRODUCTS))
        if not _VERSION.fullmatch(self.version):
            raise ValueError("the version is up to 32 letters, digits and . + -, like 9.4.0")
        if self.host_name is not None and not 1 <= len(self.host_name) <= NAME_CHARS:
            raise ValueError(f"the host name is 1 to {NAME_CHARS} characters")
        if self.serial is not None:
            if not _SERIAL.fullmatch(self.serial):
                raise ValueError("a serial number is 12 capital letters or digits")
            if self.product != "control":
                raise ValueError("only a Kerio Control hardware box has a serial number")
        if self.factory_signature is not None and self.serial is None:
            raise ValueError("a factory signature certifies a box's serial number")
        if self.multi_server and self.product != "connect":
            raise ValueError("only Kerio Connect can be a Multi-Server")

    @property
    def title(self) -> str:
        """The product's name as people read it: "Kerio Control"."""
        return PRODUCT_TITLES[self.product]

    def hello_body(self, nonce: bytes) -> dict[str, JsonValue]:
        """The body of `hello` for a connection that uses `nonce`."""
        body: dict[str, JsonValue] = {
            "versions": [v for v in PROTOCOL_VERSIONS if v <= self.protocol],
            "nonce": b64url(nonce),
            "product": self.product,
            "version": self.version,
        }
        if self.host_name is not None:
            body["name"] = self.host_name
        if self.serial is not None:
            body["serial"] = self.serial
        if self.factory_signature is not None:
            body["factory_signature"] = b64url(self.factory_signature)
        if self.multi_server:
            body["multi_server"] = True
        if self.protocol >= STREAMS_VERSION:
            features = dict(SIMULATOR_FEATURES)
            if self.product in BACKUP_PRODUCTS:
                features["backups"] = [1]
                # "MyKerio notification service" (mykerio.agent.relay): Control and Operator.
                features["relay"] = [1]
            if self.product == "control":
                # Shared definitions (mykerio.agent.definitions): Kerio Control only.
                features["definitions"] = [1]
            features.update({"tunnel": [1]} if self.remote_admin else {"tunnel_off": [1]})
            body["features"] = features
        return body
