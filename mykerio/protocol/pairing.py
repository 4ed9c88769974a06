"""Pairing codes: the single-use code an unknown appliance gets and the link it shows.

A code is 10 characters from a 32-character alphabet without look-alikes (no 0/O, 1/I),
shown as two groups of five (`K7M2Q-X9FHD`): 50 bits of randomness, valid for
`PAIRING_VALID` and usable once; the hub throttles guesses. The "add this appliance" link
carries the code in its fragment, which browsers never send to a server, so the code stays out
of access logs, proxies and Referer headers. Nobody logs a code.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import timedelta

from mykerio.errors import InvalidInput

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_CHARS = 10
GROUP_CHARS = 5
PAIRING_VALID = timedelta(minutes=15)
ADD_PATH = "/appliances/add"

CODE_PATTERN = re.compile(rf"[{ALPHABET}]{{{GROUP_CHARS}}}-[{ALPHABET}]{{{GROUP_CHARS}}}")


def new_pairing_code() -> str:
    """A fresh random code in display form, `XXXXX-XXXXX`."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))
    return _grouped(raw)


def normalise_pairing_code(text: str) -> str:
    """What the user typed or the link carried, as `XXXXX-XXXXX`; `InvalidInput` if not a code.

    Case, spaces and dashes do not matter. The error never repeats the text.
    """
    folded = unicodedata.normalize("NFKC", text).upper()
    raw = "".join(char for char in folded if not char.isspace() and char != "-")
    if len(raw) != CODE_CHARS or any(char not in ALPHABET for char in raw):
        raise InvalidInput(f"a pairing code is {CODE_CHARS} letters and digits, like ABCDE-23456")
    return _grouped(raw)


def add_link(public_url: str, code: str) -> str:
    """The "add this appliance" URL: `{public_url}/appliances/add#code=XXXXX-XXXXX`."""
    base = public_url.rstrip("/")
    if not base.startswith(("https://", "http://")) or "?" in base or "#" in base:
        raise ValueError("the public URL must be an http(s) URL without query or fragment")
    return f"{base}{ADD_PATH}#code={normalise_pairing_code(code)}"


def _grouped(raw: str) -> str:
    return f"{raw[:GROUP_CHARS]}-{raw[GROUP_CHARS:]}"
