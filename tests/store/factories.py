"""Values for the store contract tests: a fixed start time and one maker per model."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from mykerio.models import (
    AccessEvent,
    ActivityEvent,
    Appliance,
    Backup,
    Invitation,
    LoginAttempt,
    OneTimeToken,
    Organization,
    OutboxMessage,
    Session,
    User,
    new_id,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WEEK = timedelta(days=7)
KEY = b"\x00\xffkey\xfe"


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


def make_appliance(public_key: bytes = KEY) -> Appliance:
    """A new Kerio Control appliance in organization `org1`."""
    return Appliance(
        id=new_id(),
        org_id="org1",
        product="control",
        version="9.4.0",
        name="Office firewall",
        public_key=public_key,
        ip="192.0.2.10",
        status="grey",
        created_at=T0,
        last_seen=None,
    )


def make_backup(appliance_id: str, created_at: datetime, content: bytes = b"cfg") -> Backup:
    """A backup of `appliance_id` taken at `created_at`."""
    return Backup(
        id=new_id(),
        appliance_id=appliance_id,
        created_at=created_at,
        filename="backup.tgz",
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )


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
