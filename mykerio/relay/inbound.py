"""The hub's inbound SMTP endpoint for bounces: delivery status notifications (RFC 3464) sent
to the relay's signed return paths (`[relay] inbound_smtp`, aiosmtpd on the hub's loop).

Only recipients that are return paths this hub signed are accepted (`RCPT` answers 550 to any
other address, so the endpoint relays nothing and receives nothing else); each accepted
message is handed to `on_bounce(return path, raw message)`, which decides whether it reports a
bounce of a relayed message. Messages are capped at `MAX_DSN_BYTES` and 5 recipients.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP

from mykerio.relay.dsn import MAX_DSN_BYTES
from mykerio.relay.verp import ReturnPaths

MAX_RECIPIENTS = 5
# Seconds a client may stay silent before the endpoint hangs up.
IDLE_TIMEOUT = 60.0

OnBounce = Callable[[str, bytes], Awaitable[bool]]

log = structlog.get_logger(__name__)


class BounceHandler:
    """aiosmtpd handler: accepts mail for signed return paths only and hands it on."""

    def __init__(self, paths: ReturnPaths, on_bounce: OnBounce) -> None:
        self._paths = paths
        self._on_bounce = on_bounce

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        """Accept a signed return path; refuse anything else."""
        if self._paths.message_of(address) is None:
            return "550 5.1.1 No such recipient"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        """Hand the message on for each return path it was sent to."""
        raw = bytes(envelope.original_content or envelope.content or b"")
        for address in envelope.rcpt_tos:
            try:
                await self._on_bounce(address, raw)
            except Exception:
                log.exception("bounce not handled")
                return "451 4.3.0 Try again later"
        return "250 Message accepted"


async def start_bounce_endpoint(
    host: str, port: int, paths: ReturnPaths, on_bounce: OnBounce
) -> asyncio.Server:
    """Listen for bounces on `host`:`port` (port 0: any free port) on the running loop."""
    handler = BounceHandler(paths, on_bounce)
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=MAX_DSN_BYTES,
            hostname=paths.domain,
            timeout=IDLE_TIMEOUT,
            loop=loop,
        )

    server = await loop.create_server(protocol, host=host, port=port)
    log.info("bounce endpoint listening", host=host, port=server.sockets[0].getsockname()[1])
    return server
