"""Which appliances get shared definitions, and what the dashboard shows of each one's sync.

Only Kerio Control 9.0 or newer that declared the `definitions` capability gets them (guide
section 4.3); every other appliance of the organization is listed with the reason it does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_CONTROL = (9, 0)
_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")


def why_not(product: str, version: str) -> str:
    """Why an appliance of this product and version gets no shared definitions ("" if it
    does, given the capability)."""
    if product != "control":
        return f"Kerio {product.capitalize()}: shared definitions are for Kerio Control only"
    match = _VERSION.match(version.strip())
    if match is None:
        return f"Kerio Control {version or '(version unknown)'}: needs 9.0 or newer"
    numbers = (int(match.group(1)), int(match.group(2) or 0))
    return "" if numbers >= MIN_CONTROL else f"Kerio Control {version}: needs 9.0 or newer"


NO_CAPABILITY = "does not support shared definitions (no definitions capability)"


@dataclass(frozen=True, slots=True)
class SyncView:
    """One appliance's state for one kind.

    `state`: `in_sync` (at `version`), `pending` (a push of `version` awaits its answer),
    `failed` (`error` says why; it still holds `version`), `offline`, or `not_eligible`
    (`reason` says why).
    """

    appliance_id: str
    name: str
    product: str
    product_version: str
    state: str
    version: int | None = None
    error: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class VersionView:
    """One entry of a kind's version history."""

    version: int
    at: str
    actor_email: str
    change: str
