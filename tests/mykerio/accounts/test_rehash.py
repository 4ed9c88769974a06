"""Tests of mykerio/accounts/login.py: stored hashes follow raised Argon2id parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import argon2
import pytest

from mykerio.accounts.audit import AccessAudit
from mykerio.accounts.context import Client, Links
from mykerio.accounts.hashing import AsyncPasswords
from mykerio.accounts.login import Authenticator
from mykerio.accounts.policy import AccountPolicy
from mykerio.accounts.registration import Registration
from mykerio.accounts.sessions import Sessions
from mykerio.clock import FakeClock
from mykerio.security.encryption import SecretBox
from mykerio.security.passwords import PasswordHasher
from mykerio.sms import OutboxSmsSender
from mykerio.store import Store, open_store


def parameters(memory_kib: int) -> argon2.Parameters:
    return argon2.Parameters(
        type=argon2.Type.ID,
        version=19,
        salt_len=16,
        hash_len=32,
        time_cost=2,
        memory_cost=memory_kib,
        parallelism=1,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store("", tmp_path)
    try:
        yield opened
    finally:
        await opened.close()


async def test_login_rehashes_when_parameters_rise(store: Store, tmp_path: Path) -> None:
    """A password hashed with weaker parameters is rehashed with today's at the next login."""
    clock, policy = FakeClock(), AccountPolicy()
    weak = AsyncPasswords(PasswordHasher(parameters(8192)))
    registered = await Registration(store, weak, clock, Links("https://hub"), policy).register(
        full_name="Ana Novak", email="ana@acme.example", password="Tulip-Harbour-42"
    )
    assert registered.user is not None
    await store.users.confirm(registered.user.id, clock.now())
    strong = AsyncPasswords(PasswordHasher(parameters(16384)))
    sessions = Sessions(store, clock, policy)
    authenticator = Authenticator(
        store=store,
        passwords=strong,
        clock=clock,
        policy=policy,
        sessions=sessions,
        audit=AccessAudit(store, clock, policy),
        box=SecretBox.from_master(b"k" * 32),
        backup_code_key=b"b" * 32,
        sms=OutboxSmsSender(tmp_path / "sms.jsonl", clock.now),
    )
    before = registered.user.password_hash
    assert "m=8192" in before
    step = await authenticator.login(
        "ana@acme.example", "Tulip-Harbour-42", persistent=False, client=Client("127.0.0.1", "t")
    )
    assert step.session_token
    after = await store.users.by_email("ana@acme.example")
    assert after is not None
    assert "m=16384" in after.password_hash
    assert await strong.verify(after.password_hash, "Tulip-Harbour-42")
