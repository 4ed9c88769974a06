"""The unknown-code throttle: how many failed appliance lookups a user may make.

Every lookup of a pairing code (the add dialog's preview and the add itself) or of a serial
number counts against one per-user budget, so that neither can be guessed by trying many.
"""

from __future__ import annotations

from datetime import timedelta

# Failed lookups (unknown code, no box with that serial) a user may make in the window.
LOOKUP_LIMIT = 10
LOOKUP_WINDOW = timedelta(minutes=15)


def lookup_key(user_id: str) -> str:
    """The throttle key of a user's appliance lookups."""
    return f"appliance-lookup:{user_id}"
