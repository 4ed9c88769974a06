"""Where webhooks may post: never the hub's own network unless the administrator allows it.

A webhook URL is chosen by any member of an organization; posting it from the hub must not
reach the hub's loopback, its private networks or link-local services such as cloud metadata
(server-side request forgery). `url_problem` refuses such URLs when they are set (a literal
address or `localhost`); `address_allowed` is checked on every address a host name resolves
to at delivery time, in the very resolution the connection uses (`web/webhook_client.py`), so
a name that later points inside is refused too.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

MAX_URL_CHARS = 2048


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """Whether a webhook may connect to this IP address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if allow_private:
        return not ip.is_unspecified and not ip.is_multicast
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """What is wrong with a webhook URL, or None."""
    if len(url) > MAX_URL_CHARS:
        return f"The URL is longer than {MAX_URL_CHARS} characters."
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "The URL must start with https:// (or http://) and name a host."
    if parts.username or parts.password:
        return "Put no user name or password in the URL."
    host = parts.hostname
    if allow_private:
        return None
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "The URL points at this hub's own network, which webhooks may not reach."
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: checked again on every address it resolves to
    if not address_allowed(host, allow_private=False):
        return "The URL points at a private or local address, which webhooks may not reach."
    return None
