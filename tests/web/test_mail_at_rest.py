"""No usable token in the store: mail bodies are sealed at rest and deleted once delivered.

Each kind of email that carries a token (confirmation, password reset, invitation) goes out
through real SMTP; the test then reads the SQLite file raw (with its WAL) or every MongoDB
document and looks for the delivered token. Runs against SQLite and MongoDB.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from mykerio.clock import FakeClock
from mykerio.models import OutboxMessage
from mykerio.store import SQLITE_FILENAME, Store
from mykerio.store.base import OperationObserver
from tests.conftest import api_session, hub_config_for, running_hub
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import login, register, token_in
from web.hub import Hub

EMAIL = "ana@acme.example"


@pytest.fixture(params=["sqlite", "mongodb"])
async def store_uri(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """ "" (SQLite in the data directory) or a fresh MongoDB database, dropped afterwards."""
    if request.param == "sqlite":
        yield ""
        return
    server: str = request.getfixturevalue("mongo_server_uri")
    database = f"test_{uuid.uuid4().hex}"
    yield f"{server.rstrip('/')}/{database}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(server)
    try:
        await client.drop_database(database)
    finally:
        await client.close()


@pytest.fixture
async def hub(
    tmp_path: Path,
    smtp_server: LoopbackSmtp,
    sms_gateway: LoopbackSmsGateway,
    clock: FakeClock,
    store_uri: str,
) -> AsyncIterator[Hub]:
    """The test hub on the store under test."""
    config = hub_config_for(tmp_path, smtp_server, sms_gateway, **{"store.uri": store_uri})
    async with running_hub(config, clock) as running:
        yield running


async def stored_bytes(hub: Hub, store_uri: str) -> bytes:
    """Everything the store holds: the SQLite file and its WAL raw, or every MongoDB document."""
    if not store_uri:
        files = sorted(hub.config.data_dir.glob(SQLITE_FILENAME + "*"))
        assert any(path.name.endswith("-wal") for path in files), files
        return b"".join(path.read_bytes() for path in files)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(store_uri)
    try:
        database = client.get_default_database()
        dump = []
        for name in await database.list_collection_names():
            dump += [repr(document) async for document in database[name].find()]
        return "\n".join(dump).encode()
    finally:
        await client.close()


async def until(hub: Hub, done: Callable[[Store], Awaitable[bool]]) -> None:
    """Wait until `done(store)` holds, looking again each time the mailer marks a message."""
    assert hub.store is not None
    store, marked = hub.store, asyncio.Event()
    passed_on: OperationObserver | None = getattr(store.outbox, "on_operation", None)

    def observe(operation: str, seconds: float) -> None:
        if operation.startswith("outbox.mark_"):
            marked.set()
        if passed_on is not None:
            passed_on(operation, seconds)

    setattr(store.outbox, "on_operation", observe)  # noqa: B010  # the protocol's is read-only
    try:
        async with asyncio.timeout(10):
            while True:
                marked.clear()
                if await done(store):
                    return
                await marked.wait()
    finally:
        setattr(store.outbox, "on_operation", passed_on)  # noqa: B010


async def settled(hub: Hub) -> list[OutboxMessage]:
    """The outbox once no message is pending (the mailer marks a message after the SMTP reply)."""

    async def none_pending(store: Store) -> bool:
        return not await store.outbox.pending_count()

    await until(hub, none_pending)
    assert hub.store is not None
    return await hub.store.outbox.recent(50)


async def assert_unreadable(hub: Hub, store_uri: str, token: str) -> None:
    """The token is nowhere in the store and no delivered message keeps a body."""
    assert len(token) >= 20
    messages = await settled(hub)
    assert messages
    assert all((m.status, m.text, m.html) == ("sent", "", "") for m in messages)
    assert all(m.subject and m.to and m.sent_at and m.attempts >= 1 for m in messages)
    assert token.encode() not in await stored_bytes(hub, store_uri)


async def test_confirmation_token_is_not_in_the_store(
    hub: Hub, smtp_server: LoopbackSmtp, store_uri: str
) -> None:
    """After the confirmation email goes out, its still unused token is not in the store."""
    api = api_session(hub)
    await register(api, smtp_server, EMAIL, confirm=False)
    token = token_in(await smtp_server.find(EMAIL, "Confirm"))

    await assert_unreadable(hub, store_uri, token)
    assert (await api.post("/api/v1/registrations/confirm", {"token": token})).status == 200


async def test_reset_token_is_not_in_the_store(
    hub: Hub, smtp_server: LoopbackSmtp, store_uri: str
) -> None:
    """After the password-reset email goes out, its live token is not in the store."""
    api = api_session(hub)
    await register(api, smtp_server, EMAIL)
    assert (await api.post("/api/v1/password-resets", {"email": EMAIL})).status == 202
    token = token_in(await smtp_server.find(EMAIL, "Reset"))

    await assert_unreadable(hub, store_uri, token)


async def test_invitation_token_is_not_in_the_store(
    hub: Hub, smtp_server: LoopbackSmtp, store_uri: str
) -> None:
    """After the invitation email goes out, its live token is not in the store."""
    api = api_session(hub)
    await register(api, smtp_server, EMAIL)
    assert (await login(api, EMAIL)).status == 200
    org_id = (await api.get("/api/v1/organizations")).json["selected"]
    invited = await api.post(
        f"/api/v1/organizations/{org_id}/invitations", {"email": "bob@other.example"}
    )
    assert invited.status == 201, invited
    token = token_in(await smtp_server.find("bob@other.example", "invited"))

    await assert_unreadable(hub, store_uri, token)
    preview = await api_session(hub).post("/api/v1/invitations/preview", {"token": token})
    assert preview.status == 200, preview


async def test_undelivered_mail_is_sealed_and_goes_out_after_a_restart(
    tmp_path: Path,
    smtp_server: LoopbackSmtp,
    sms_gateway: LoopbackSmsGateway,
    clock: FakeClock,
    store_uri: str,
) -> None:
    """Mail the SMTP server could not take stays sealed through a hub restart, then goes out
    and leaves no body behind."""
    config = hub_config_for(tmp_path, smtp_server, sms_gateway, **{"store.uri": store_uri})
    async with running_hub(config, clock) as hub:
        api = api_session(hub)
        await register(api, smtp_server, EMAIL)
        await settled(hub)
        smtp_server.stop()
        assert (await api.post("/api/v1/password-resets", {"email": EMAIL})).status == 202

        async def attempted(store: Store) -> bool:
            return any(message.attempts for message in await store.outbox.pending())

        await until(hub, attempted)
        assert hub.store is not None
        waiting = await hub.store.outbox.pending()
        [waiting_message] = waiting
        assert waiting_message.text.startswith("sealed:v1:")
        assert waiting_message.html == ""
        before = await stored_bytes(hub, store_uri)

    clock.advance(600)  # past the retry time
    smtp_server.start()
    async with running_hub(config, clock) as hub:
        token = token_in(await smtp_server.find(EMAIL, "Reset"))
        assert token.encode() not in before
        await assert_unreadable(hub, store_uri, token)
