"""Conversion between MongoDB documents and domain models: with `appliance_documents`, the
only such place.

`_id` is the domain id (for sessions, login attempts and tokens: the hash that identifies
them). Datetimes go in as UTC truncated to milliseconds (BSON's precision) and come out
normalised to `datetime.UTC`, whatever tzinfo the driver attached; bytes are stored as BSON
binary and come back as `bytes`. Fields added after a collection's first release are read with
their defaults when a document predates them. Values that need atomic changes live in their own
collections (see `users`, `login_attempts`), so their `*_from_document` functions take them
separately.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mykerio.models import (
    AccessEvent,
    ActivityEvent,
    Backup,
    Invitation,
    LoginAttempt,
    Membership,
    OneTimeToken,
    Organization,
    OutboxMessage,
    Session,
    User,
    email_key,
)
from mykerio.store.mongo.indexes import Document
from mykerio.store.values import to_utc_millis


def optional_stored(moment: datetime | None) -> datetime | None:
    """`moment` as stored (UTC, whole milliseconds), or `None` for `None`."""
    return None if moment is None else to_utc_millis(moment)


def loaded(moment: datetime) -> datetime:
    """A stored datetime in `datetime.UTC`, whatever tzinfo the driver attached."""
    return moment.astimezone(UTC)


def optional_loaded(moment: datetime | None) -> datetime | None:
    """`loaded(moment)`, or `None` for `None`."""
    return None if moment is None else loaded(moment)


def optional_bytes(value: bytes | None) -> bytes | None:
    """`bytes(value)`, or `None` for `None`."""
    return None if value is None else bytes(value)


def user_document(user: User) -> Document:
    """The `users` document for `user`, with its lowercased email for uniqueness.

    Its backup codes and last TOTP step are not in it: they live in `backup_codes` and
    `totp_steps`.
    """
    return {
        "_id": user.id,
        "email": user.email,
        "email_lower": email_key(user.email),
        "full_name": user.full_name,
        "password_hash": user.password_hash,
        "created_at": to_utc_millis(user.created_at),
        "confirmed_at": optional_stored(user.confirmed_at),
        "totp_secret": user.totp_secret,
        "phone": user.phone,
        "notifications": user.notifications,
        "password_changed_at": optional_stored(user.password_changed_at),
        "default_org_id": user.default_org_id,
    }


def user_from_document(
    document: Document, backup_codes: tuple[str, ...], totp_last_step: int | None
) -> User:
    """The `User` in a `users` document, with its backup codes and last TOTP step."""
    return User(
        id=document["_id"],
        email=document["email"],
        full_name=document["full_name"],
        password_hash=document["password_hash"],
        created_at=loaded(document["created_at"]),
        confirmed_at=optional_loaded(document["confirmed_at"]),
        totp_secret=optional_bytes(document.get("totp_secret")),
        totp_last_step=totp_last_step,
        phone=optional_bytes(document.get("phone")),
        backup_codes=backup_codes,
        notifications=document.get("notifications", True),
        password_changed_at=optional_loaded(document.get("password_changed_at")),
        default_org_id=document.get("default_org_id", ""),
    )


def backup_document(backup: Backup) -> Document:
    """The `backups` document for `backup`."""
    return {
        "_id": backup.id,
        "appliance_id": backup.appliance_id,
        "created_at": to_utc_millis(backup.created_at),
        "filename": backup.filename,
        "content": backup.content,
        "sha256": backup.sha256,
    }


def backup_from_document(document: Document) -> Backup:
    """The `Backup` in a `backups` document."""
    return Backup(
        id=document["_id"],
        appliance_id=document["appliance_id"],
        created_at=loaded(document["created_at"]),
        filename=document["filename"],
        content=bytes(document["content"]),
        sha256=document["sha256"],
    )


def organization_document(organization: Organization) -> Document:
    """The `organizations` document for `organization`."""
    return {
        "_id": organization.id,
        "name": organization.name,
        "created_at": to_utc_millis(organization.created_at),
    }


def organization_from_document(document: Document) -> Organization:
    """The `Organization` in an `organizations` document."""
    return Organization(
        id=document["_id"], name=document["name"], created_at=loaded(document["created_at"])
    )


def membership_document(membership: Membership) -> Document:
    """The `memberships` document for `membership`; its `_id` is left to the server."""
    return {
        "org_id": membership.org_id,
        "user_id": membership.user_id,
        "joined_at": to_utc_millis(membership.joined_at),
    }


def membership_from_document(document: Document) -> Membership:
    """The `Membership` in a `memberships` document."""
    return Membership(
        org_id=document["org_id"],
        user_id=document["user_id"],
        joined_at=loaded(document["joined_at"]),
    )


def invitation_document(invitation: Invitation) -> Document:
    """The `invitations` document for `invitation`, with its lowercased email for uniqueness.

    The hashes of its links' tokens are not in it: they live in `invitation_tokens`.
    """
    return {
        "_id": invitation.id,
        "org_id": invitation.org_id,
        "email": invitation.email,
        "email_lower": email_key(invitation.email),
        "invited_by": invitation.invited_by,
        "created_at": to_utc_millis(invitation.created_at),
        "expires_at": to_utc_millis(invitation.expires_at),
    }


def invitation_from_document(document: Document) -> Invitation:
    """The `Invitation` in an `invitations` document."""
    return Invitation(
        id=document["_id"],
        org_id=document["org_id"],
        email=document["email"],
        invited_by=document["invited_by"],
        created_at=loaded(document["created_at"]),
        expires_at=loaded(document["expires_at"]),
    )


def session_document(session: Session) -> Document:
    """The `sessions` document for `session`."""
    return {
        "_id": session.id_hash,
        "user_id": session.user_id,
        "created_at": to_utc_millis(session.created_at),
        "last_seen": to_utc_millis(session.last_seen),
        "persistent": session.persistent,
        "ip": session.ip,
        "user_agent": session.user_agent,
    }


def session_from_document(document: Document) -> Session:
    """The `Session` in a `sessions` document."""
    return Session(
        id_hash=document["_id"],
        user_id=document["user_id"],
        created_at=loaded(document["created_at"]),
        last_seen=loaded(document["last_seen"]),
        persistent=document["persistent"],
        ip=document["ip"],
        user_agent=document["user_agent"],
    )


def login_attempt_document(attempt: LoginAttempt) -> Document:
    """The `login_attempts` document for `attempt`; `guesses` is the count it started with."""
    return {
        "_id": attempt.id_hash,
        "user_id": attempt.user_id,
        "created_at": to_utc_millis(attempt.created_at),
        "persistent": attempt.persistent,
        "guesses": attempt.guesses,
        "sms_code_hash": attempt.sms_code_hash,
        "sms_expires_at": optional_stored(attempt.sms_expires_at),
    }


def login_attempt_from_document(document: Document, later_guesses: int) -> LoginAttempt:
    """The `LoginAttempt` in a `login_attempts` document, plus its `later_guesses`."""
    return LoginAttempt(
        id_hash=document["_id"],
        user_id=document["user_id"],
        created_at=loaded(document["created_at"]),
        persistent=document["persistent"],
        guesses=document["guesses"] + later_guesses,
        sms_code_hash=document["sms_code_hash"],
        sms_expires_at=optional_loaded(document["sms_expires_at"]),
    )


def token_document(token: OneTimeToken) -> Document:
    """The `tokens` document for `token`."""
    return {
        "_id": token.token_hash,
        "purpose": token.purpose,
        "user_id": token.user_id,
        "created_at": to_utc_millis(token.created_at),
        "expires_at": to_utc_millis(token.expires_at),
        "data": token.data,
    }


def token_from_document(document: Document) -> OneTimeToken:
    """The `OneTimeToken` in a `tokens` document."""
    return OneTimeToken(
        token_hash=document["_id"],
        purpose=document["purpose"],
        user_id=document["user_id"],
        created_at=loaded(document["created_at"]),
        expires_at=loaded(document["expires_at"]),
        data=document["data"],
    )


def outbox_document(message: OutboxMessage) -> Document:
    """The `outbox` document for `message`."""
    return {
        "_id": message.id,
        "to": message.to,
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "created_at": to_utc_millis(message.created_at),
        "status": message.status,
        "attempts": message.attempts,
        "next_attempt_at": to_utc_millis(message.next_attempt_at),
        "last_error": message.last_error,
        "sent_at": optional_stored(message.sent_at),
    }


def outbox_from_document(document: Document) -> OutboxMessage:
    """The `OutboxMessage` in an `outbox` document."""
    return OutboxMessage(
        id=document["_id"],
        to=document["to"],
        subject=document["subject"],
        text=document["text"],
        html=document["html"],
        created_at=loaded(document["created_at"]),
        status=document["status"],
        attempts=document["attempts"],
        next_attempt_at=loaded(document["next_attempt_at"]),
        last_error=document["last_error"],
        sent_at=optional_loaded(document["sent_at"]),
    )


def access_event_document(event: AccessEvent) -> Document:
    """The `access_events` document for `event`."""
    return {
        "_id": event.id,
        "user_id": event.user_id,
        "email": event.email,
        "at": to_utc_millis(event.at),
        "ip": event.ip,
        "user_agent": event.user_agent,
        "action": event.action,
        "detail": event.detail,
    }


def access_event_from_document(document: Document) -> AccessEvent:
    """The `AccessEvent` in an `access_events` document."""
    return AccessEvent(
        id=document["_id"],
        user_id=document["user_id"],
        email=document["email"],
        at=loaded(document["at"]),
        ip=document["ip"],
        user_agent=document["user_agent"],
        action=document["action"],
        detail=document["detail"],
    )


def activity_event_document(event: ActivityEvent) -> Document:
    """The `activity_events` document for `event`."""
    return {
        "_id": event.id,
        "org_id": event.org_id,
        "actor_id": event.actor_id,
        "actor_email": event.actor_email,
        "at": to_utc_millis(event.at),
        "ip": event.ip,
        "action": event.action,
        "target": event.target,
        "detail": event.detail,
    }


def activity_event_from_document(document: Document) -> ActivityEvent:
    """The `ActivityEvent` in an `activity_events` document."""
    return ActivityEvent(
        id=document["_id"],
        org_id=document["org_id"],
        actor_id=document["actor_id"],
        actor_email=document["actor_email"],
        at=loaded(document["at"]),
        ip=document["ip"],
        action=document["action"],
        target=document["target"],
        detail=document["detail"],
    )
