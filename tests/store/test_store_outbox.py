"""The outbox contract: emails written down, handed out when due, and marked as they go.

Runs against SQLite and MongoDB. Delivered and failed messages lose their body.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from mykerio.errors import Conflict, InvalidInput, NotFound
from mykerio.store import SQLITE_FILENAME, Store, open_store
from mykerio.store.codecs import OUTBOX
from mykerio.store.sqlite.migrations import MIGRATIONS
from tests.store.factories import T0, make_message

MINUTE = timedelta(minutes=1)


async def test_add_and_by_id(store: Store) -> None:
    """A message comes back as added; an unknown id gives `None`."""
    message = make_message()

    assert await store.outbox.add(message) == message
    assert await store.outbox.by_id(message.id) == message
    assert await store.outbox.by_id("missing") is None


async def test_duplicate_id_conflicts(store: Store) -> None:
    """A second message with an existing id is refused and the first stays."""
    message = await store.outbox.add(make_message())

    with pytest.raises(Conflict):
        await store.outbox.add(dataclasses.replace(message, subject="Other"))

    assert await store.outbox.by_id(message.id) == message


async def test_due_hands_out_pending_messages_oldest_first(store: Store) -> None:
    """Due messages are the pending ones whose time has come (now included), oldest first."""
    now = T0 + 10 * MINUTE
    second = await store.outbox.add(make_message(T0 + MINUTE, next_attempt_at=now))
    first = await store.outbox.add(make_message(T0, next_attempt_at=T0))
    await store.outbox.add(make_message(T0, next_attempt_at=now + timedelta(milliseconds=1)))
    sent = await store.outbox.add(make_message(T0))
    await store.outbox.mark_sent(sent.id, T0)
    failed = await store.outbox.add(make_message(T0))
    await store.outbox.mark_failed(failed.id, attempts=5, error="550 no such user")

    assert await store.outbox.due(now, 10) == [first, second]
    assert await store.outbox.due(now, 1) == [first]
    assert await store.outbox.due(T0 - MINUTE, 10) == []


async def test_due_breaks_equal_times_by_id(store: Store) -> None:
    """Messages written at the same moment are handed out in id order."""
    messages = [await store.outbox.add(make_message()) for _ in range(3)]

    assert await store.outbox.due(T0, 10) == sorted(messages, key=lambda message: message.id)


async def test_mark_retry_keeps_it_pending_until_later(store: Store) -> None:
    """A retry records the attempts and error and makes the message due at the new time."""
    message = await store.outbox.add(make_message())
    retry_at = T0 + 5 * MINUTE

    await store.outbox.mark_retry(
        message.id, attempts=1, next_attempt_at=retry_at, error="421 try later"
    )

    retried = dataclasses.replace(
        message, attempts=1, next_attempt_at=retry_at, last_error="421 try later"
    )
    assert await store.outbox.by_id(message.id) == retried
    assert await store.outbox.due(retry_at - timedelta(milliseconds=1), 10) == []
    assert await store.outbox.due(retry_at, 10) == [retried]


async def test_mark_sent_and_mark_failed_end_the_message(store: Store) -> None:
    """Sent counts the successful attempt and records when, failed records the last error, and
    both delete the body, keeping the metadata."""
    sent = await store.outbox.add(make_message())
    failed = await store.outbox.add(make_message())
    await store.outbox.mark_retry(sent.id, attempts=2, next_attempt_at=T0, error="421 busy")

    await store.outbox.mark_sent(sent.id, T0 + MINUTE)
    await store.outbox.mark_failed(failed.id, attempts=6, error="550 mailbox unavailable")

    assert await store.outbox.by_id(sent.id) == dataclasses.replace(
        sent,
        status="sent",
        attempts=3,
        last_error="421 busy",
        sent_at=T0 + MINUTE,
        text="",
        html="",
    )
    assert await store.outbox.by_id(failed.id) == dataclasses.replace(
        failed, status="failed", attempts=6, last_error="550 mailbox unavailable", text="", html=""
    )
    assert await store.outbox.due(T0 + MINUTE, 10) == []


async def test_recent_lists_newest_first_and_pending_count_counts(store: Store) -> None:
    """Recent messages of every status come newest first; only pending ones are counted."""
    messages = [await store.outbox.add(make_message(T0 + i * MINUTE)) for i in range(4)]
    await store.outbox.mark_sent(messages[1].id, T0)
    await store.outbox.mark_failed(messages[2].id, attempts=1, error="550")

    recent = await store.outbox.recent(3)

    assert [message.id for message in recent] == [m.id for m in reversed(messages[1:])]
    assert [message.status for message in recent] == ["pending", "failed", "sent"]
    assert await store.outbox.pending_count() == 2


async def test_pending_lists_every_pending_message_and_replace_body_rewrites_it(
    store: Store,
) -> None:
    """`pending` lists pending messages due or not, oldest first; `replace_body` stores a new
    text and empties the HTML."""
    later = await store.outbox.add(make_message(T0 + MINUTE, next_attempt_at=T0 + 9 * MINUTE))
    first = await store.outbox.add(make_message(T0))
    sent = await store.outbox.add(make_message(T0))
    await store.outbox.mark_sent(sent.id, T0)

    assert await store.outbox.pending() == [first, later]

    await store.outbox.replace_body(first.id, "sealed:v1:abc")
    assert await store.outbox.by_id(first.id) == dataclasses.replace(
        first, text="sealed:v1:abc", html=""
    )
    with pytest.raises(NotFound):
        await store.outbox.replace_body("missing", "x")


async def test_next_attempt_at_is_the_earliest_pending_due_time(store: Store) -> None:
    """The earliest `next_attempt_at` among pending messages, or `None` when none is pending."""
    assert await store.outbox.next_attempt_at() is None
    later = await store.outbox.add(make_message(next_attempt_at=T0 + 5 * MINUTE))
    sooner = await store.outbox.add(make_message(next_attempt_at=T0 + MINUTE))
    sent = await store.outbox.add(make_message(next_attempt_at=T0))
    await store.outbox.mark_sent(sent.id, T0)

    assert await store.outbox.next_attempt_at() == T0 + MINUTE

    await store.outbox.mark_failed(sooner.id, attempts=3, error="550")
    assert await store.outbox.next_attempt_at() == T0 + 5 * MINUTE
    await store.outbox.mark_sent(later.id, T0)
    assert await store.outbox.next_attempt_at() is None


MarkCall = Callable[[Store], Awaitable[None]]

MARKS: dict[str, MarkCall] = {
    "mark_sent": lambda s: s.outbox.mark_sent("missing", T0),
    "mark_retry": lambda s: s.outbox.mark_retry(
        "missing", attempts=1, next_attempt_at=T0, error="421"
    ),
    "mark_failed": lambda s: s.outbox.mark_failed("missing", attempts=1, error="550"),
}


@pytest.mark.parametrize("mark", MARKS.values(), ids=MARKS.keys())
async def test_marking_an_unknown_message_raises_not_found(store: Store, mark: MarkCall) -> None:
    """Marking a message that does not exist raises `NotFound`."""
    await store.outbox.add(make_message())

    with pytest.raises(NotFound):
        await mark(store)


async def test_limits_below_one_and_naive_datetimes_are_invalid(store: Store) -> None:
    """`due` and `recent` refuse a limit below 1; a naive time raises `InvalidInput`."""
    message = await store.outbox.add(make_message())
    naive = datetime(2026, 1, 1)

    with pytest.raises(InvalidInput):
        await store.outbox.due(T0, 0)
    with pytest.raises(InvalidInput):
        await store.outbox.recent(0)
    with pytest.raises(InvalidInput):
        await store.outbox.due(naive, 10)
    with pytest.raises(InvalidInput):
        await store.outbox.mark_sent(message.id, naive)
    with pytest.raises(InvalidInput):
        await store.outbox.add(make_message(naive))

    assert await store.outbox.by_id(message.id) == message


def database_bytes(folder: Path) -> bytes:
    """Every byte of the SQLite files in `folder` (the database, its log and shared memory)."""
    return b"".join(
        path.read_bytes() for path in folder.iterdir() if path.name.startswith(SQLITE_FILENAME)
    )


OLD_BODIES = {"text": "Reset: https://hub.example/reset#token=OLDTOKEN", "html": "<a>OLDTOKEN</a>"}


async def test_sqlite_upgrade_purges_bodies_of_ended_messages(tmp_path: Path) -> None:
    """A SQLite file at schema version 4 loses the bodies of its sent and failed messages (the
    metadata stays); a pending one keeps its body for the mailer to seal."""
    with sqlite3.connect(tmp_path / SQLITE_FILENAME) as connection:
        connection.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
        for version, migration in enumerate(MIGRATIONS[:4], start=1):
            for statement in migration:
                connection.execute(statement)
            connection.execute("INSERT INTO schema_version VALUES (?)", (version,))
        for message_id, status in (
            ("m-sent", "sent"),
            ("m-failed", "failed"),
            ("m-new", "pending"),
        ):
            connection.execute(
                "INSERT INTO outbox VALUES (?, 'ana@acme.example', 'Reset', ?, ?, 0, ?, 1, 0, '',"
                " NULL)",
                (
                    message_id,
                    OLD_BODIES["text"].replace("OLDTOKEN", f"TOKEN-{message_id}"),
                    OLD_BODIES["html"].replace("OLDTOKEN", f"TOKEN-{message_id}"),
                    status,
                ),
            )
    connection.close()

    store = await open_store("", tmp_path)
    try:
        for message_id in ("m-sent", "m-failed"):
            ended = await store.outbox.by_id(message_id)
            assert ended is not None
            assert (ended.text, ended.html) == ("", "")
            assert ended.subject == "Reset"
            assert ended.attempts == 1
        pending = await store.outbox.by_id("m-new")
        assert pending is not None
        assert pending.text == OLD_BODIES["text"].replace("OLDTOKEN", "TOKEN-m-new")
        # Deleted is gone from the file too: not left in free pages or in the write-ahead log.
        raw = await asyncio.to_thread(database_bytes, tmp_path)
        assert b"TOKEN-m-sent" not in raw
        assert b"TOKEN-m-failed" not in raw
    finally:
        await store.close()


async def test_mongo_upgrade_purges_bodies_of_ended_messages(
    mongo_store_uri: str, tmp_path: Path
) -> None:
    """Opening a MongoDB store deletes the bodies older hubs kept for sent and failed messages;
    a pending one keeps its body for the mailer to seal."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_store_uri)
    try:
        outbox = client.get_default_database().outbox
        for message_id, status in (
            ("m-sent", "sent"),
            ("m-failed", "failed"),
            ("m-new", "pending"),
        ):
            message = dataclasses.replace(make_message(), id=message_id, status=status)
            await outbox.insert_one({**OUTBOX.mongo.encode(message), **OLD_BODIES})
        store = await open_store(mongo_store_uri, tmp_path)
        try:
            for message_id in ("m-sent", "m-failed"):
                ended = await store.outbox.by_id(message_id)
                assert ended is not None
                assert (ended.text, ended.html) == ("", "")
            pending = await store.outbox.by_id("m-new")
            assert pending is not None
            assert pending.text == OLD_BODIES["text"]
        finally:
            await store.close()
    finally:
        await client.close()


async def test_the_hubs_own_mail_is_due_before_relayed_mail(store: Store) -> None:
    """Relayed mail (with an `origin`) waits behind the hub's own, however much older it is."""
    relayed = [
        dataclasses.replace(make_message(T0 + timedelta(seconds=n)), origin="key:k1")
        for n in range(3)
    ]
    own = make_message(T0 + timedelta(seconds=10))
    for message in (*relayed, own):
        await store.outbox.add(message)
    now = T0 + timedelta(minutes=1)

    assert [m.id for m in await store.outbox.due(now, 2)] == [own.id, relayed[0].id]
    assert [m.id for m in await store.outbox.due(now, 10)] == [own.id] + [m.id for m in relayed]
