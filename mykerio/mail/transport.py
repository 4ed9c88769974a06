"""Mail transports: SMTP (aiosmtplib) and a local directory for hubs without SMTP settings.

A transport raises `TemporaryMailError` when trying again later may work (4xx replies, a server
that refuses connections or times out) and `PermanentMailError` when it cannot (5xx replies);
the mailer retries the first and gives up on the second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.policy
import os
import ssl
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Protocol

import aiosmtplib


class TemporaryMailError(Exception):
    """Delivery failed but may succeed later."""


class PermanentMailError(Exception):
    """Delivery failed and will fail again."""


class MailTransport(Protocol):
    """Delivers one MIME message."""

    async def deliver(
        self, message: EmailMessage, *, message_id: str, envelope_from: str = ""
    ) -> None:
        """Send it (`envelope_from`: the return path; empty: the From address) or raise
        `TemporaryMailError` / `PermanentMailError`."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how to reach the SMTP server."""

    host: str
    port: int
    security: str  # "starttls", "tls" or "none"
    username: str
    password: str
    timeout: float
    verify_certificates: bool = True


class SmtpTransport:
    """Delivers through an SMTP server, one connection per message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        # Built once: loading the system's CA certificates takes tens of milliseconds of CPU,
        # which a context per message spent on the event loop (bench/relay.py's loop lag).
        self._context: ssl.SSLContext | None = None
        if settings.security != "none":
            self._context = ssl.create_default_context()
            if not settings.verify_certificates:
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE

    async def deliver(
        self, message: EmailMessage, *, message_id: str, envelope_from: str = ""
    ) -> None:
        """Send `message`; classify failures as temporary or permanent."""
        s = self._settings
        try:
            await aiosmtplib.send(
                message,
                # Exactly the one stored recipient, whatever the To header might parse to.
                recipients=[str(message["To"])],
                sender=envelope_from or None,
                hostname=s.host,
                port=s.port,
                username=s.username or None,
                password=s.password or None,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                tls_context=self._context,
                timeout=s.timeout,
            )
        except aiosmtplib.SMTPResponseException as exc:
            detail = f"{exc.code} {exc.message}"
            if 400 <= exc.code < 500:
                raise TemporaryMailError(detail) from None
            raise PermanentMailError(detail) from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            if all(400 <= code < 500 for code in codes):
                raise TemporaryMailError(detail) from None
            raise PermanentMailError(detail) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            # Refused or dropped connections and timeouts: the server may come back.
            raise TemporaryMailError(f"{type(exc).__name__}: {exc}") from None


class DirectoryTransport:
    """Writes each message as an `.eml` file: the outbox of a hub without SMTP settings."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def deliver(
        self, message: EmailMessage, *, message_id: str, envelope_from: str = ""
    ) -> None:
        """Write `<message_id>.eml` atomically (off the event loop)."""
        data = message.as_bytes()
        await asyncio.get_running_loop().run_in_executor(None, self._write, message_id, data)

    async def delivered_bodies(self, message_id: str) -> tuple[str, str]:
        """`(text, html)` of the `.eml` file written for `message_id` (empty if there is none),
        read off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._read_bodies, message_id)

    def _read_bodies(self, message_id: str) -> tuple[str, str]:
        path = self.directory / f"{message_id}.eml"
        try:
            parsed = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
        except OSError:
            return "", ""
        assert isinstance(parsed, EmailMessage)
        bodies = []
        for kind in ("plain", "html"):
            part = parsed.get_body(preferencelist=(kind,))
            bodies.append(part.get_content() if isinstance(part, EmailMessage) else "")
        return bodies[0], bodies[1]

    def _write(self, message_id: str, data: bytes) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = self.directory / f"{message_id}.eml"
        partial = final.with_suffix(".part")
        # The files hold live links (this is a mailbox): readable by the hub's user only.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        partial.replace(final)
