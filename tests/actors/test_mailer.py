"""Tests of actors/mailer.py against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actors.mailer import MailerActor, RetryPolicy
from actors.runtime import LoopRuntime, stop
from mykerio.clock import FakeClock
from mykerio.mail.message import Email
from mykerio.mail.sealing import mail_box, seal_bodies
from mykerio.mail.transport import DirectoryTransport, SmtpSettings, SmtpTransport
from mykerio.store import Store
from tests.smtp_server import LoopbackSmtp
from tests.store.factories import make_message


class FakeScheduler:
    """Records the mailer's wake-ups; the test fires them after moving the fake clock."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []
        self.scheduled = asyncio.Event()

    def __call__(self, delay: float, callback: Callable[[], None]) -> Any:
        entry = (delay, callback)
        self.pending.append(entry)
        self.scheduled.set()
        scheduler = self

        class Handle:
            def cancel(self) -> None:
                if entry in scheduler.pending:
                    scheduler.pending.remove(entry)

        return Handle()

    async def next_delay(self) -> float:
        async with asyncio.timeout(10):
            while not self.pending:
                self.scheduled.clear()
                await self.scheduled.wait()
        return self.pending[0][0]

    def fire(self) -> None:
        _, callback = self.pending.pop(0)
        callback()


def smtp(port: int) -> SmtpTransport:
    return SmtpTransport(
        SmtpSettings(
            host="127.0.0.1", port=port, security="none", username="", password="", timeout=5
        )
    )


def start_mailer(store: Store, transport: Any, clock: FakeClock, scheduler: FakeScheduler) -> Any:
    runtime = LoopRuntime(asyncio.get_running_loop())
    return MailerActor.start(
        runtime=runtime,
        outbox=store.outbox,
        box=mail_box(b"k" * 32),
        transport=transport,
        sender="MyKerio <no-reply@hub.example>",
        clock=clock,
        retry=RetryPolicy(initial=5, maximum=60, max_attempts=3),
        schedule=scheduler,
    )


HELLO = Email(to="ana@acme.example", subject="Hello", text="Plain body", html="<p>HTML body</p>")


async def test_mail_is_delivered_with_text_and_html(
    store: Store, smtp_server: LoopbackSmtp
) -> None:
    """A sent email reaches the SMTP server with both bodies and is marked sent."""
    mailer = start_mailer(store, smtp(smtp_server.port), FakeClock(), FakeScheduler())
    message_id = await mailer.proxy().send(HELLO)
    [received] = await smtp_server.wait_for(1)
    assert received["To"] == "ana@acme.example"
    assert received["Subject"] == "Hello"
    assert received.get_body(("plain",)).get_content().strip() == "Plain body"  # type: ignore[union-attr]
    assert "<p>HTML body</p>" in received.get_body(("html",)).get_content()  # type: ignore[union-attr]
    await stop(mailer, timeout=5)
    stored = await store.outbox.by_id(message_id)
    assert stored is not None
    assert stored.status == "sent"


async def test_server_down_at_first_gets_the_mail_when_it_comes_up(
    store: Store, free_port: int
) -> None:
    """With the SMTP server down the mail waits; once it is up the retry delivers it."""
    clock, scheduler = FakeClock(), FakeScheduler()
    mailer = start_mailer(store, smtp(free_port), clock, scheduler)
    message_id = await mailer.proxy().send(HELLO)
    assert await scheduler.next_delay() == 5
    waiting = await store.outbox.by_id(message_id)
    assert waiting is not None
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "Connect" in waiting.last_error or "refused" in waiting.last_error.lower()
    server = LoopbackSmtp(free_port)
    server.start()
    try:
        clock.advance(5)
        scheduler.fire()
        [received] = await server.wait_for(1)
        assert received["Subject"] == "Hello"
    finally:
        server.stop()
    await stop(mailer, timeout=5)
    sent = await store.outbox.by_id(message_id)
    assert sent is not None
    assert (sent.status, sent.attempts) == ("sent", 2)


async def test_restart_resumes_unsent_mail(
    store: Store, free_port: int, smtp_server: LoopbackSmtp
) -> None:
    """Mail queued while the server was down is sent by the next mailer after a restart."""
    clock, scheduler = FakeClock(), FakeScheduler()
    first = start_mailer(store, smtp(free_port), clock, scheduler)
    await first.proxy().send(HELLO)
    await scheduler.next_delay()
    await stop(first, timeout=5)
    clock.advance(5)
    second = start_mailer(store, smtp(smtp_server.port), clock, FakeScheduler())
    [received] = await smtp_server.wait_for(1)
    assert received["To"] == "ana@acme.example"
    await stop(second, timeout=5)


async def test_gives_up_after_max_attempts(store: Store, free_port: int) -> None:
    """A server that never comes up makes the mail fail after the last attempt, not loop forever."""
    clock, scheduler = FakeClock(), FakeScheduler()
    mailer = start_mailer(store, smtp(free_port), clock, scheduler)
    message_id = await mailer.proxy().send(HELLO)
    delays = []
    for _ in range(2):
        delay = await scheduler.next_delay()
        delays.append(delay)
        clock.advance(delay)
        scheduler.fire()
    await stop(mailer, timeout=5)
    failed = await store.outbox.by_id(message_id)
    assert failed is not None
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert delays == [5, 10]


async def test_without_smtp_mail_lands_in_the_outbox_directory(
    store: Store, tmp_path: Path
) -> None:
    """With no SMTP settings each email is written as an .eml file in the outbox directory."""
    outbox = tmp_path / "outbox"
    mailer = start_mailer(store, DirectoryTransport(outbox), FakeClock(), FakeScheduler())
    message_id = await mailer.proxy().send(HELLO)
    await stop(mailer, timeout=5)
    written = outbox / f"{message_id}.eml"
    assert written.exists()
    assert b"Subject: Hello" in written.read_bytes()


async def test_a_body_left_in_the_clear_is_sealed_at_start_and_still_sent(
    store: Store, free_port: int
) -> None:
    """A pending message an older hub stored readable is sealed when the mailer starts (before
    any attempt), and still goes out with its bodies once the server is up."""
    clock, scheduler = FakeClock(), FakeScheduler()
    legacy = dataclasses.replace(
        make_message(clock.now(), next_attempt_at=clock.now()),
        text="Reset: https://hub.example/reset#token=LEGACYTOKEN",
        html="<a>LEGACYTOKEN</a>",
    )
    await store.outbox.add(legacy)
    mailer = start_mailer(store, smtp(free_port), clock, scheduler)
    await scheduler.next_delay()
    waiting = await store.outbox.by_id(legacy.id)
    assert waiting is not None
    assert waiting.attempts == 1
    assert waiting.text.startswith("sealed:v1:")
    assert "LEGACYTOKEN" not in waiting.text
    assert waiting.html == ""
    server = LoopbackSmtp(free_port)
    server.start()
    try:
        clock.advance(5)
        scheduler.fire()
        [received] = await server.wait_for(1)
        assert "LEGACYTOKEN" in received.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    finally:
        server.stop()
    await stop(mailer, timeout=5)
    sent = await store.outbox.by_id(legacy.id)
    assert sent is not None
    assert (sent.status, sent.text, sent.html) == ("sent", "", "")


async def test_a_body_sealed_with_another_key_fails_and_the_rest_goes_out(
    store: Store, smtp_server: LoopbackSmtp
) -> None:
    """A message whose body this hub's key cannot open (another data directory's) is marked
    failed, body deleted, and mail behind it is still delivered."""
    clock = FakeClock()
    foreign = make_message(clock.now(), next_attempt_at=clock.now())
    sealed = seal_bodies(mail_box(b"x" * 32), foreign.id, text="Other key", html="")
    await store.outbox.add(dataclasses.replace(foreign, text=sealed, html=""))
    mailer = start_mailer(store, smtp(smtp_server.port), clock, FakeScheduler())
    await mailer.proxy().send(HELLO)
    [received] = await smtp_server.wait_for(1)
    assert received["Subject"] == "Hello"
    await stop(mailer, timeout=5)
    failed = await store.outbox.by_id(foreign.id)
    assert failed is not None
    assert (failed.status, failed.text, failed.attempts) == ("failed", "", 0)
    assert "failed authentication" in failed.last_error
