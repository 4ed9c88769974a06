"""The tokens contract: single-use tokens, their expiry and their one-winner consumption.

Runs against SQLite and MongoDB; consumption is raced 20 ways.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta

import pytest

from mykerio.errors import Conflict, InvalidInput
from mykerio.store import Store
from tests.store.factories import T0, make_token

EXPIRY = T0 + timedelta(hours=1)
MILLISECOND = timedelta(milliseconds=1)


async def test_consume_returns_the_token_once(store: Store) -> None:
    """A valid token is returned by the first consume and gone for every later call."""
    token = await store.tokens.add(make_token("reset"))

    assert await store.tokens.peek(token.token_hash, "reset", T0) == token
    assert await store.tokens.consume(token.token_hash, "reset", T0) == token
    assert await store.tokens.consume(token.token_hash, "reset", T0) is None
    assert await store.tokens.peek(token.token_hash, "reset", T0) is None


async def test_another_purpose_neither_gets_nor_spends_the_token(store: Store) -> None:
    """A token asked for with the wrong purpose gives `None` and stays usable."""
    token = await store.tokens.add(make_token("confirm"))

    assert await store.tokens.peek(token.token_hash, "reset", T0) is None
    assert await store.tokens.consume(token.token_hash, "reset", T0) is None
    assert await store.tokens.consume(token.token_hash, "confirm", T0) == token


async def test_a_token_expires_at_its_expiry_time(store: Store) -> None:
    """A token is valid up to 1 ms before `expires_at`; at it, peek and consume give `None`."""
    token = await store.tokens.add(make_token(expires_at=EXPIRY))

    assert await store.tokens.peek(token.token_hash, "reset", EXPIRY - MILLISECOND) == token
    assert await store.tokens.peek(token.token_hash, "reset", EXPIRY) is None
    assert await store.tokens.consume(token.token_hash, "reset", EXPIRY - MILLISECOND) == token

    expired = await store.tokens.add(make_token(expires_at=EXPIRY))
    assert await store.tokens.consume(expired.token_hash, "reset", EXPIRY) is None


async def test_consuming_an_expired_token_deletes_it(store: Store) -> None:
    """An expired token is deleted by the consume that refuses it."""
    token = await store.tokens.add(make_token(expires_at=EXPIRY))

    assert await store.tokens.consume(token.token_hash, "reset", EXPIRY + timedelta(1)) is None

    assert await store.tokens.peek(token.token_hash, "reset", T0) is None
    assert await store.tokens.delete_expired(EXPIRY + timedelta(1)) == 0


async def test_twenty_concurrent_consumes_let_one_win(store: Store) -> None:
    """Of twenty simultaneous consumes of one token exactly one gets it."""
    token = await store.tokens.add(make_token())

    outcomes = await asyncio.gather(
        *(store.tokens.consume(token.token_hash, "reset", T0) for _ in range(20))
    )

    assert [outcome for outcome in outcomes if outcome is not None] == [token]


async def test_duplicate_hash_conflicts(store: Store) -> None:
    """A second token with an existing hash is refused and the first stays."""
    token = await store.tokens.add(make_token("reset"))

    with pytest.raises(Conflict):
        await store.tokens.add(dataclasses.replace(token, purpose="confirm", user_id="u2"))

    assert await store.tokens.peek(token.token_hash, "reset", T0) == token


async def test_delete_for_user_removes_one_purpose_of_one_user(store: Store) -> None:
    """Deleting a user's tokens of a purpose spares their other purposes and other users."""
    resets = [await store.tokens.add(make_token("reset")) for _ in range(2)]
    confirm = await store.tokens.add(make_token("confirm"))
    other = await store.tokens.add(make_token("reset", user_id="u2"))

    assert await store.tokens.delete_for_user("u1", "reset") == 2
    assert await store.tokens.delete_for_user("u1", "reset") == 0

    for token in resets:
        assert await store.tokens.peek(token.token_hash, "reset", T0) is None
    assert await store.tokens.peek(confirm.token_hash, "confirm", T0) == confirm
    assert await store.tokens.peek(other.token_hash, "reset", T0) == other


async def test_delete_expired_includes_the_expiry_time(store: Store) -> None:
    """Cleanup deletes tokens with `expires_at` at or before now and keeps later ones."""
    early = await store.tokens.add(make_token(expires_at=EXPIRY - MILLISECOND))
    on_time = await store.tokens.add(make_token(expires_at=EXPIRY))
    later = await store.tokens.add(make_token(expires_at=EXPIRY + MILLISECOND))

    assert await store.tokens.delete_expired(EXPIRY) == 2

    assert await store.tokens.peek(early.token_hash, "reset", T0) is None
    assert await store.tokens.peek(on_time.token_hash, "reset", T0) is None
    assert await store.tokens.peek(later.token_hash, "reset", T0) == later


async def test_naive_datetimes_are_refused(store: Store) -> None:
    """Every token operation taking a time refuses a naive one with `InvalidInput`."""
    naive = datetime(2026, 1, 1)
    token = await store.tokens.add(make_token())

    with pytest.raises(InvalidInput):
        await store.tokens.add(make_token(expires_at=naive))
    with pytest.raises(InvalidInput):
        await store.tokens.consume(token.token_hash, "reset", naive)
    with pytest.raises(InvalidInput):
        await store.tokens.peek(token.token_hash, "reset", naive)
    with pytest.raises(InvalidInput):
        await store.tokens.delete_expired(naive)

    assert await store.tokens.peek(token.token_hash, "reset", T0) == token
