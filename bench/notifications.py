"""Online/offline email benchmark (issue 15, item 8): N appliances of one organization go
offline together; how many emails go out and how long until the last reaches the SMTP server.

Real parts in one process: the notifier and mailer actors on the asyncio loop, an SQLite store
in a temporary directory, the organization's `ApplianceChanged` events on a `LocalBus`, and a
real SMTP server (aiosmtpd, its own thread) on loopback. The organization has M members; the
grace is 0 (announced at once) and the batching window W seconds, so the expected result is M
emails, each listing N appliances, W seconds (plus the work) after the outage. Measured:

- emails received (must be M: one per member per window),
- seconds from the outage's first event to the last email received (minus nothing: the window
  is part of it, and is printed beside it),
- loop lag p99 / max (ms): a 5 ms timer's lateness from the outage until the last email.

The same run with one appliance is the baseline (ratio = N-appliance time / 1-appliance time).
`--small` runs 100 appliances and 2 members (seconds on a loaded machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.clients import ActorClient
from actors.mailer import MailerActor
from actors.notifier import NotifierActor
from actors.runtime import LoopRuntime, stop
from bench.common import percentile, progress
from mykerio.appliances.view import ApplianceView
from mykerio.bus import LocalBus
from mykerio.clock import SystemClock
from mykerio.mail.message import Email
from mykerio.mail.sealing import mail_box
from mykerio.mail.transport import SmtpSettings, SmtpTransport
from mykerio.models import Organization, User, new_id
from mykerio.notifications.timing import AlertTiming
from mykerio.organizations.events import ApplianceChanged
from mykerio.store import open_store


class _Inbox:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.count = 0
        self.last_at = 0.0
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.loop.call_soon_threadsafe(self._got)
        return "250 OK"

    def _got(self) -> None:
        self.count += 1
        self.last_at = time.perf_counter()
        self.arrived.set()


async def one_run(appliances: int, members: int, window: float, port: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    inbox = _Inbox(loop)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    with tempfile.TemporaryDirectory() as folder:
        store = await open_store("", Path(folder))
        clock = SystemClock()
        runtime = LoopRuntime(loop)
        org = await store.organizations.add(Organization(new_id(), "acme.example", clock.now()))
        user_ids = []
        for index in range(members):
            user = await store.users.add(
                User(new_id(), f"m{index}@acme.example", f"Member {index}", "x", clock.now(), None)
            )
            await store.organizations.add_member(org.id, user.id, clock.now())
            user_ids.append(user.id)
        mailer_ref = MailerActor.start(
            runtime=runtime,
            outbox=store.outbox,
            box=mail_box(b"k" * 32),
            transport=SmtpTransport(SmtpSettings("127.0.0.1", port, "none", "", "", 10)),
            sender="MyKerio <no-reply@hub.example>",
            clock=clock,
        )
        mailer = ActorClient[MailerActor](mailer_ref, 30)

        async def send_mail(email: Email) -> str:
            return await mailer.call(MailerActor.send, email)

        bus = LocalBus()
        notifier_ref = NotifierActor.start(
            runtime=runtime,
            store=store,
            clock=clock,
            bus=bus,
            send_mail=send_mail,
            dashboard_url="https://hub.example/",
            timing=AlertTiming(grace=timedelta(0), window=timedelta(seconds=window)),
        )
        notifier = ActorClient[NotifierActor](notifier_ref, 60)
        await notifier.call(NotifierActor.backlog)
        members_t = tuple(user_ids)

        def view(index: int, connected: bool) -> ApplianceView:
            return ApplianceView(
                f"ap{index}",
                org.id,
                f"gw-{index:04d}",
                "control",
                "9.4.5",
                "green" if connected else "red",
                (),
                0,
                connected,
                "192.0.2.1",
                "",
            )

        for index in range(appliances):
            bus.publish(ApplianceChanged(org.id, members_t, view(index, True)))
        await notifier.call(NotifierActor.backlog)

        lags: list[float] = []
        ticking = True

        async def ticker() -> None:
            interval = 0.005
            while ticking:
                before = loop.time()
                await asyncio.sleep(interval)
                lags.append((loop.time() - before - interval) * 1000)

        tick = asyncio.create_task(ticker())
        started = time.perf_counter()
        for index in range(appliances):
            bus.publish(ApplianceChanged(org.id, members_t, view(index, False)))
        async with asyncio.timeout(120 + window):
            while inbox.count < members:
                inbox.arrived.clear()
                await inbox.arrived.wait()
        elapsed = inbox.last_at - started
        await asyncio.sleep(min(1.0, window))  # a second email per member would show now
        ticking = False
        await tick
        await stop(notifier_ref, timeout=5)
        await stop(mailer_ref, timeout=5)
        await store.close()
    controller.stop()
    return {
        "appliances": appliances,
        "members": members,
        "window_s": window,
        "emails": inbox.count,
        "seconds_to_last_email": round(elapsed, 3),
        "work_s": round(elapsed - window, 3),
        "lag_p99_ms": round(percentile(lags, 99), 2),
        "lag_max_ms": round(max(lags), 2),
    }


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run(appliances: int, members: int, window: float, repeats: int) -> dict[str, Any]:
    baseline = [await one_run(1, members, window, free_port()) for _ in range(repeats)]
    progress(f"baseline (1 appliance): {baseline}")
    outage = [await one_run(appliances, members, window, free_port()) for _ in range(repeats)]
    progress(f"outage ({appliances} appliances): {outage}")

    def median(rows: list[dict[str, Any]], key: str) -> float:
        values = sorted(row[key] for row in rows)
        return float(values[len(values) // 2])

    return {
        "machine": f"{platform.machine()} {platform.python_version()}",
        "baseline": baseline,
        "outage": outage,
        "median_seconds_1": median(baseline, "seconds_to_last_email"),
        "median_seconds_n": median(outage, "seconds_to_last_email"),
        "ratio": round(
            median(outage, "seconds_to_last_email") / median(baseline, "seconds_to_last_email"), 2
        ),
        "median_lag_p99_ms": median(outage, "lag_p99_ms"),
        "emails_per_member": [row["emails"] / members for row in outage],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appliances", type=int, default=1000)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--window", type=float, default=2.0, help="batching window (s)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="100 appliances, 2 members, once")
    args = parser.parse_args()
    if args.small:
        args.appliances, args.members, args.repeats = 100, 2, 1
    result = asyncio.run(run(args.appliances, args.members, args.window, args.repeats))
    print(json.dumps(result, indent=2))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "notifications.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
