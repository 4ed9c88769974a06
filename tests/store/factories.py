"""Values for the store contract tests: a fixed start time and one maker per model."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from mykerio.models import (
    AccessEvent,
    ActivityEvent,
    AlertRecord,
    Appliance,
    Backup,
    Invitation,
    LoginAttempt,
    OneTimeToken,
    Organization,
    OutboxMessage,
    Pairing,
    Session,
    StatusChange,
    User,
    new_id,
    sequential_id,
)
from mykerio.store import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WEEK = timedelta(days=7)
KEY = b"\x00\xffkey\xfe"
SERIAL = "SRLNMR123456"
PAIRING_VALID = timedelta(minutes=15)


def make_user(email: str = "ann@example.com", created_at: datetime = T0) -> User:
    """A new unconfirmed user."""
    return User(
        id=new_id(),
        email=email,
        full_name="Ann Example",
        password_hash="$argon2id$not-a-real-hash",
        created_at=created_at,
        confirmed_at=None,
    )


def make_appliance(
    public_key: bytes | None = KEY, *, org_id: str = "org1", name: str = "Office firewall"
) -> Appliance:
    """A new Kerio Control appliance of `org_id` with this key, offline, never seen."""
    return Appliance(
        id=new_id(),
        org_id=org_id,
        product="control",
        version="9.4.0",
        name=name,
        public_key=public_key,
        serial="",
        ip="192.0.2.10",
        status="red",
        status_reasons=("Offline",),
        pending_notifications=0,
        created_at=T0,
        last_seen=None,
        connected=False,
    )


def make_reserved(serial: str = SERIAL, *, org_id: str = "org1") -> Appliance:
    """A new Kerio Control box reserved for `org_id` by its serial, with no key yet."""
    return dataclasses.replace(
        make_appliance(None, org_id=org_id, name="Branch box"),
        serial=serial,
        status="grey",
        status_reasons=("Reserved, not connected yet",),
    )


def make_pairing(
    public_key: bytes = KEY, *, created_at: datetime = T0, expires_at: datetime | None = None
) -> Pairing:
    """A new pairing of `public_key`, valid for 15 minutes unless `expires_at` says."""
    return Pairing(
        code_hash=new_id(),
        public_key=public_key,
        product="connect",
        version="10.0.1",
        name_hint="mail.acme.example",
        ip="203.0.113.8",
        created_at=created_at,
        expires_at=created_at + PAIRING_VALID if expires_at is None else expires_at,
    )


def make_status_change(
    at: datetime = T0,
    *,
    appliance_id: str = "a1",
    status: str = "yellow",
    change_id: str | None = None,
) -> StatusChange:
    """A new status change of `appliance_id` in organization `org1`."""
    return StatusChange(
        id=change_id or new_id(),
        appliance_id=appliance_id,
        org_id="org1",
        at=at,
        status=status,
        reasons=("Low memory", "Update available") if status == "yellow" else (),
    )


def make_backup(
    appliance_id: str, stored_at: datetime, content: bytes = b"cfg", org_id: str = "org1"
) -> Backup:
    """A backup of `appliance_id` stored at `stored_at` (its bytes: `content`)."""
    return Backup(
        id=sequential_id(),
        appliance_id=appliance_id,
        org_id=org_id,
        appliance_name="Brno gateway",
        product="control",
        version="9.4.5",
        created_at=stored_at - timedelta(seconds=3),
        stored_at=stored_at,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        reason="scheduled",
        certificates=True,
    )


async def store_backup(
    store: Store, backup: Backup, records: Sequence[bytes] = (b"cfg",), keep: int = 5
) -> list[str]:
    """Write `records` as the backup's blob and publish it; the ids the trim removed."""
    blob = await store.backups.begin(backup.id)
    for record in records:
        await blob.append(record)
    return await store.backups.publish(backup, blob, keep)


async def records_of(store: Store, backup_id: str) -> list[bytes]:
    """Every record of a listed backup's blob."""
    return [record async for record in store.backups.records(backup_id)]


def make_organization(name: str = "acme.example", created_at: datetime = T0) -> Organization:
    """A new organization."""
    return Organization(id=new_id(), name=name, created_at=created_at)


def make_session(
    user_id: str = "u1", *, last_seen: datetime = T0, persistent: bool = False
) -> Session:
    """A new session of `user_id`, created at `T0`."""
    return Session(
        id_hash=new_id(),
        user_id=user_id,
        created_at=T0,
        last_seen=last_seen,
        persistent=persistent,
        ip="198.51.100.7",
        user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    )


def make_login_attempt(created_at: datetime = T0, guesses: int = 0) -> LoginAttempt:
    """A new login attempt of user `u1`, without an SMS code."""
    return LoginAttempt(
        id_hash=new_id(),
        user_id="u1",
        created_at=created_at,
        persistent=True,
        guesses=guesses,
        sms_code_hash=None,
        sms_expires_at=None,
    )


def make_token(
    purpose: str = "reset", *, user_id: str = "u1", expires_at: datetime = T0 + timedelta(hours=1)
) -> OneTimeToken:
    """A new token of `user_id`, created at `T0`."""
    return OneTimeToken(
        token_hash=new_id(),
        purpose=purpose,
        user_id=user_id,
        created_at=T0,
        expires_at=expires_at,
        data='{"email": "ann@example.com"}',
    )


def make_message(created_at: datetime = T0, *, next_attempt_at: datetime = T0) -> OutboxMessage:
    """A new pending email, due at `next_attempt_at`."""
    return OutboxMessage(
        id=new_id(),
        to="ann@example.com",
        subject="Confirm your MyKerio account",
        text="Open the link.",
        html="<p>Open the link.</p>",
        created_at=created_at,
        status="pending",
        attempts=0,
        next_attempt_at=next_attempt_at,
        last_error="",
        sent_at=None,
    )


def make_event(
    at: datetime = T0,
    *,
    user_id: str = "u1",
    ip: str = "198.51.100.7",
    action: str = "login",
    event_id: str | None = None,
) -> AccessEvent:
    """A new access event."""
    return AccessEvent(
        id=event_id or new_id(),
        user_id=user_id,
        email="ann@example.com",
        at=at,
        ip=ip,
        user_agent="Mozilla/5.0 (X11; Linux x86_64)",
        action=action,
        detail="",
    )


def make_invitation(
    email: str = "bob@example.com",
    *,
    org_id: str = "org1",
    created_at: datetime = T0,
    expires_at: datetime | None = None,
) -> Invitation:
    """A new invitation to `org_id` from user `u1`, valid for a week unless `expires_at` says."""
    return Invitation(
        id=new_id(),
        org_id=org_id,
        email=email,
        invited_by="u1",
        created_at=created_at,
        expires_at=created_at + WEEK if expires_at is None else expires_at,
    )


def make_activity(
    at: datetime = T0,
    *,
    org_id: str = "org1",
    actor_id: str = "u1",
    action: str = "member_invited",
    event_id: str | None = None,
) -> ActivityEvent:
    """A new activity event of `org_id`."""
    return ActivityEvent(
        id=event_id or new_id(),
        org_id=org_id,
        actor_id=actor_id,
        actor_email=f"{actor_id}@example.com",
        at=at,
        ip="198.51.100.7",
        action=action,
        target="bob@example.com",
        detail="",
    )


def make_alert_record(
    kind: str = "queued",
    at: datetime = T0,
    *,
    appliance_id: str = "a1",
    user_id: str = "u1",
    record_id: str | None = None,
) -> AlertRecord:
    """A notifier record of `appliance_id` in organization `org1`."""
    return AlertRecord(
        id=record_id or new_id(),
        at=at,
        kind=kind,
        org_id="org1",
        appliance_id=appliance_id,
        user_id=user_id,
        appliance_name="Brno gateway",
        change="offline",
        changed_at=at,
        repeats=0,
        told_down=False,
    )
