"""Where the hub's appliance socket is, how its certificate is checked, how long to wait for it.

`HubEndpoint.of("https://hub.example.com")` gives `wss://hub.example.com/appliance/v1/socket`
and the TLS context that checks the hub's certificate (system CAs, a `--cafile`, or nothing with
`--insecure` for self-signed development hubs). `Timings` are the protocol's deadlines, which
tests may shorten.
"""

from __future__ import annotations

import ssl
import urllib.parse
from dataclasses import dataclass

from mykerio.protocol import link


@dataclass(frozen=True, slots=True)
class HubEndpoint:
    """Where the hub's appliance socket is, and how to check the hub's TLS certificate."""

    socket_url: str
    ssl_context: ssl.SSLContext

    @classmethod
    def of(cls, hub_url: str, *, cafile: str | None = None, insecure: bool = False) -> HubEndpoint:
        """The socket of the hub at `hub_url` (`https://host[:port]`); `ValueError` if not one.

        The certificate is checked against the system's CAs, or only `cafile`'s when given;
        `insecure` checks nothing (self-signed development hubs only).
        """
        parts = urllib.parse.urlsplit(hub_url)
        if parts.scheme not in ("https", "wss") or not parts.hostname:
            raise ValueError("the hub URL must look like https://hub.example.com[:port]")
        if parts.query or parts.fragment:
            raise ValueError("the hub URL must not have a query or a fragment")
        context = ssl.create_default_context(cafile=cafile)
        if insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        url = f"wss://{parts.netloc}{parts.path.rstrip('/')}{link.SOCKET_PATH}"
        return cls(url, context)


@dataclass(frozen=True, slots=True)
class Timings:
    """How long the appliance waits for the hub; the protocol's numbers unless a test says."""

    handshake: float = link.HANDSHAKE_TIMEOUT
    silence: float = link.SILENCE_LIMIT
    remove_close: float = link.REMOVE_CLOSE_DEADLINE
    # A box restarts to apply its set-up from MyKerio; this is how long that takes.
    setup_restart: float = 5.0
