"""Whether a recipient address is well formed and its top-level domain exists.

The top-level domains are IANA's list (`data/tlds-alpha-by-domain.txt`, shipped as package
data); `scripts/update-tlds.sh` replaces it with IANA's current file. The syntax is the hub's
own for addresses (a dot-atom local part and a hostname; no quotes, commas or angle brackets
that could smuggle a second recipient into a header).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

MAX_ADDRESS = 254
MAX_LOCAL = 64

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")


@cache
def top_level_domains() -> frozenset[str]:
    """IANA's top-level domains, lowercase (A-labels: `xn--…` for internationalised ones)."""
    text = resources.files("mykerio.relay").joinpath("data/tlds-alpha-by-domain.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def normal_address(address: str) -> str:
    """The form the relay keys recipients by: trimmed and lowercased."""
    return address.strip().lower()


def is_valid_recipient(address: str) -> bool:
    """True if `address` is a well-formed address whose top-level domain exists."""
    if len(address) > MAX_ADDRESS or not _ADDRESS.fullmatch(address):
        return False
    local, _, domain = address.rpartition("@")
    if len(local) > MAX_LOCAL:
        return False
    return domain.rsplit(".", 1)[-1].lower() in top_level_domains()
