"""A real SMTP server on loopback (aiosmtpd) that collects what it receives, for tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class _Collector:
    def __init__(self, inbox: LoopbackSmtp) -> None:
        self._inbox = inbox

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        # A recipient the test made this server refuse (a 4xx or 5xx reply), else accepted.
        refusal = self._inbox.refusals.get(address.lower())
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self._inbox.refuse_with is not None:
            return self._inbox.refuse_with
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        # The envelope sender (the return path bounces go to), as a receiving server adds it.
        message["Return-Path"] = f"<{envelope.mail_from}>"
        self._inbox.received(message)
        return "250 Message accepted for delivery"


class LoopbackSmtp:
    """Runs aiosmtpd on 127.0.0.1:`port` (its own thread); `wait_for(n)` awaits n messages."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        # Recipient (lowercase) → the reply this server gives it at RCPT, e.g. "550 5.1.1 …".
        self.refusals: dict[str, str] = {}
        # A reply such as "451 Try again later" given to every message instead of taking it.
        self.refuse_with: str | None = None
        self._loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Collector(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self, message: EmailMessage) -> None:
        # Called on aiosmtpd's thread: hand over to the test's loop.
        self._loop.call_soon_threadsafe(self._append, message)

    def _append(self, message: EmailMessage) -> None:
        self.messages.append(message)
        self._arrived.set()

    async def find(self, to: str, subject_part: str, timeout: float = 10.0) -> EmailMessage:
        """The newest message to `to` whose subject contains `subject_part` (waits for it)."""
        async with asyncio.timeout(timeout):
            while True:
                for message in reversed(self.messages):
                    if message["To"] == to and subject_part in str(message["Subject"]):
                        found: EmailMessage = message
                        return found
                self._arrived.clear()
                await self._arrived.wait()

    async def find_since(
        self, start: int, to: str, subject_part: str, timeout: float = 10.0
    ) -> EmailMessage:
        """The first message from index `start` on to `to` whose subject contains
        `subject_part` (waits for it); mail to others that arrives meanwhile is passed over."""
        async with asyncio.timeout(timeout):
            while True:
                for message in self.messages[start:]:
                    if message["To"] == to and subject_part in str(message["Subject"]):
                        found: EmailMessage = message
                        return found
                self._arrived.clear()
                await self._arrived.wait()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.messages
