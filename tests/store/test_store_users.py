"""The users contract beyond add and look-up: second factors, settings, and their races.

Runs against SQLite and MongoDB; the atomic operations are raced 20 ways.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from mykerio.errors import InvalidInput, NotFound
from mykerio.store import Store, open_store
from tests.store.factories import T0, make_user

SECRET = b"\x01sealed-totp-secret\xff"
PHONE = b"\x02sealed-phone\x00"
CODES = tuple(f"code-hash-{i}" for i in range(10))


async def test_new_fields_round_trip(store: Store) -> None:
    """Every account field, the sealed bytes included, comes back as it went in."""
    user = dataclasses.replace(
        make_user(),
        confirmed_at=T0,
        totp_secret=SECRET,
        totp_last_step=1234,
        phone=PHONE,
        backup_codes=CODES,
        notifications=False,
        password_changed_at=T0 + timedelta(seconds=1),
        default_org_id="org1",
    )

    assert await store.users.add(user) == user
    assert await store.users.by_id(user.id) == user
    assert await store.users.by_email(user.email) == user


async def test_new_fields_default_for_a_plain_user(store: Store) -> None:
    """A user added without the account fields reads back with their defaults."""
    added = await store.users.add(make_user())

    found = await store.users.by_id(added.id)

    assert found is not None
    assert (found.totp_secret, found.totp_last_step, found.phone) == (None, None, None)
    assert (found.backup_codes, found.notifications, found.password_changed_at) == ((), True, None)
    assert found.default_org_id == ""


async def test_set_password_hash_records_when(store: Store) -> None:
    """A new password hash is stored with its time as `password_changed_at`."""
    user = await store.users.add(make_user())
    at = T0 + timedelta(days=3)

    await store.users.set_password_hash(user.id, "$argon2id$new", at)

    assert await store.users.by_id(user.id) == dataclasses.replace(
        user, password_hash="$argon2id$new", password_changed_at=at
    )


async def test_confirm_keeps_the_first_confirmation(store: Store) -> None:
    """Confirming sets `confirmed_at` once; a later confirmation returns the user unchanged."""
    user = await store.users.add(make_user())
    first = T0 + timedelta(minutes=5)

    confirmed = await store.users.confirm(user.id, first)
    again = await store.users.confirm(user.id, first + timedelta(hours=1))

    assert confirmed == dataclasses.replace(user, confirmed_at=first)
    assert again == confirmed
    assert await store.users.by_id(user.id) == confirmed


async def test_set_totp_sets_the_secret_and_forgets_the_last_step(store: Store) -> None:
    """A new secret resets the step memory, so its codes count from scratch; `None` removes."""
    user = await store.users.add(make_user())
    await store.users.set_totp(user.id, SECRET)
    assert await store.users.claim_totp_step(user.id, 100)

    await store.users.set_totp(user.id, SECRET + b"2")
    renewed = await store.users.by_id(user.id)
    assert renewed is not None
    assert (renewed.totp_secret, renewed.totp_last_step) == (SECRET + b"2", None)
    assert await store.users.claim_totp_step(user.id, 99)

    await store.users.set_totp(user.id, None)
    removed = await store.users.by_id(user.id)
    assert removed is not None
    assert (removed.totp_secret, removed.totp_last_step) == (None, None)


async def test_claim_totp_step_accepts_only_newer_steps(store: Store) -> None:
    """A step is accepted once, and never after a newer one was accepted."""
    user = await store.users.add(make_user())

    outcomes = [await store.users.claim_totp_step(user.id, step) for step in (5, 5, 4, 6, 5, 8)]

    assert outcomes == [True, False, False, True, False, True]
    found = await store.users.by_id(user.id)
    assert found is not None
    assert found.totp_last_step == 8


async def test_twenty_concurrent_claims_of_one_step_let_one_win(store: Store) -> None:
    """Of twenty simultaneous claims of one step exactly one succeeds."""
    user = await store.users.add(make_user())

    outcomes = await asyncio.gather(*(store.users.claim_totp_step(user.id, 7) for _ in range(20)))

    assert sorted(outcomes) == [False] * 19 + [True]
    found = await store.users.by_id(user.id)
    assert found is not None
    assert found.totp_last_step == 7


async def test_concurrent_claims_of_mixed_steps_stay_monotonic(store: Store) -> None:
    """Racing claims of steps 1-5, four each, accept each step at most once and the newest once."""
    user = await store.users.add(make_user())
    steps = [step for _ in range(4) for step in (3, 1, 5, 2, 4)]

    outcomes = await asyncio.gather(*(store.users.claim_totp_step(user.id, s) for s in steps))

    accepted = [step for step, won in zip(steps, outcomes, strict=True) if won]
    assert len(accepted) == len(set(accepted))
    assert 5 in accepted
    assert not any([await store.users.claim_totp_step(user.id, step) for step in range(1, 6)])
    found = await store.users.by_id(user.id)
    assert found is not None
    assert found.totp_last_step == 5


async def test_backup_codes_are_used_once_and_replaced_as_a_set(store: Store) -> None:
    """A code works once; a new set keeps its order and voids every code of the old one."""
    user = await store.users.add(make_user())
    await store.users.set_backup_codes(user.id, CODES)

    assert await store.users.use_backup_code(user.id, CODES[3])
    assert not await store.users.use_backup_code(user.id, CODES[3])
    assert not await store.users.use_backup_code(user.id, "never-issued")
    found = await store.users.by_id(user.id)
    assert found is not None
    assert found.backup_codes == CODES[:3] + CODES[4:]

    fresh = ("new-b", "new-a", "new-c")
    await store.users.set_backup_codes(user.id, fresh)

    assert not await store.users.use_backup_code(user.id, CODES[0])
    renewed = await store.users.by_id(user.id)
    assert renewed is not None
    assert renewed.backup_codes == fresh
    await store.users.set_backup_codes(user.id, ())
    assert not await store.users.use_backup_code(user.id, "new-a")


async def test_twenty_concurrent_uses_of_one_code_let_one_win(store: Store) -> None:
    """Of twenty simultaneous uses of one backup code exactly one succeeds; the rest stay."""
    user = await store.users.add(make_user())
    await store.users.set_backup_codes(user.id, CODES)

    outcomes = await asyncio.gather(
        *(store.users.use_backup_code(user.id, CODES[0]) for _ in range(20))
    )

    assert sorted(outcomes) == [False] * 19 + [True]
    found = await store.users.by_id(user.id)
    assert found is not None
    assert found.backup_codes == CODES[1:]


async def test_concurrent_uses_of_different_codes_all_win(store: Store) -> None:
    """Using all ten codes at once succeeds for each and leaves none."""
    user = await store.users.add(make_user())
    await store.users.set_backup_codes(user.id, CODES)

    outcomes = await asyncio.gather(*(store.users.use_backup_code(user.id, c) for c in CODES))

    assert all(outcomes)
    found = await store.users.by_id(user.id)
    assert found is not None
    assert found.backup_codes == ()


async def test_repeated_backup_code_hash_is_invalid(store: Store) -> None:
    """A set of codes that repeats a hash is refused, on add and on replace."""
    user = await store.users.add(make_user())

    with pytest.raises(InvalidInput):
        await store.users.set_backup_codes(user.id, ("a", "b", "a"))
    with pytest.raises(InvalidInput):
        await store.users.add(
            dataclasses.replace(make_user("bob@example.com"), backup_codes=("x", "x"))
        )

    assert await store.users.by_email("bob@example.com") is None


async def test_phone_and_notifications_are_set(store: Store) -> None:
    """The sealed phone and the notification opt-in are stored, and the phone can be removed."""
    user = await store.users.add(make_user())

    await store.users.set_phone(user.id, PHONE)
    await store.users.set_notifications(user.id, False)
    assert await store.users.by_id(user.id) == dataclasses.replace(
        user, phone=PHONE, notifications=False
    )

    await store.users.set_phone(user.id, None)
    await store.users.set_notifications(user.id, True)
    assert await store.users.by_id(user.id) == user


async def test_set_default_org_remembers_and_forgets_the_choice(store: Store) -> None:
    """The switcher's organization is stored per user, replaced by the next one, and cleared by
    `""`.
    """
    user = await store.users.add(make_user())
    other = await store.users.add(make_user("bob@example.com"))

    await store.users.set_default_org(user.id, "org1")
    await store.users.set_default_org(user.id, "org2")
    assert await store.users.by_id(user.id) == dataclasses.replace(user, default_org_id="org2")
    assert await store.users.by_email("ANN@example.com") == dataclasses.replace(
        user, default_org_id="org2"
    )
    assert await store.users.by_id(other.id) == other

    await store.users.set_default_org(user.id, "")
    assert await store.users.by_id(user.id) == user


UserCall = Callable[[Store], Awaitable[object]]

SETTERS: dict[str, UserCall] = {
    "set_password_hash": lambda s: s.users.set_password_hash("missing", "$h", T0),
    "confirm": lambda s: s.users.confirm("missing", T0),
    "set_totp": lambda s: s.users.set_totp("missing", SECRET),
    "claim_totp_step": lambda s: s.users.claim_totp_step("missing", 1),
    "set_backup_codes": lambda s: s.users.set_backup_codes("missing", CODES),
    "use_backup_code": lambda s: s.users.use_backup_code("missing", CODES[0]),
    "set_phone": lambda s: s.users.set_phone("missing", PHONE),
    "set_notifications": lambda s: s.users.set_notifications("missing", False),
    "set_default_org": lambda s: s.users.set_default_org("missing", "org1"),
}


@pytest.mark.parametrize("call", SETTERS.values(), ids=SETTERS.keys())
async def test_setters_of_an_unknown_user_raise_not_found(store: Store, call: UserCall) -> None:
    """Every change to a user that does not exist raises `NotFound`."""
    await store.users.add(make_user())

    with pytest.raises(NotFound):
        await call(store)


async def test_naive_datetimes_are_refused_by_user_setters(store: Store) -> None:
    """Setting a password or confirming with a naive datetime raises `InvalidInput`."""
    user = await store.users.add(make_user())
    naive = datetime(2026, 1, 1)

    with pytest.raises(InvalidInput):
        await store.users.set_password_hash(user.id, "$h", naive)
    with pytest.raises(InvalidInput):
        await store.users.confirm(user.id, naive)

    assert await store.users.by_id(user.id) == user


async def test_mongodb_user_from_before_the_account_fields_reads_defaults(
    mongo_store_uri: str, tmp_path: Path
) -> None:
    """A MongoDB user document written before the account fields existed reads with defaults."""
    legacy = make_user()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_store_uri)
    try:
        await client.get_default_database().users.insert_one(
            {
                "_id": legacy.id,
                "email": legacy.email,
                "email_lower": legacy.email,
                "full_name": legacy.full_name,
                "password_hash": legacy.password_hash,
                "created_at": legacy.created_at,
                "confirmed_at": None,
            }
        )
    finally:
        await client.close()

    store = await open_store(mongo_store_uri, tmp_path)
    try:
        assert await store.users.by_id(legacy.id) == legacy
    finally:
        await store.close()
