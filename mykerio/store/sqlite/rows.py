"""Conversion between SQLite rows and domain models: with `appliance_rows`, the only such place.

Datetimes are stored as integer milliseconds since the Unix epoch (UTC), bytes as BLOBs. The
`*_params` functions give the named parameters for `insert_statement`; the `*_from_row`
functions read a row selected with the table's columns by name (`SELECT *`, `RETURNING *`).
Booleans are stored as 0 or 1. A user's backup codes live in their own table, so
`user_from_row` takes them separately. The appliance link's models are converted in
`appliance_rows`, by the same rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

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
from mykerio.store.values import from_millis, to_millis

Params = dict[str, Any]


class Row(Protocol):
    """A result row readable by column name, as `sqlite3.Row` is."""

    def __getitem__(self, column: str) -> Any: ...


def optional_millis(moment: datetime | None) -> int | None:
    """`to_millis(moment)`, or `None` for `None`."""
    return None if moment is None else to_millis(moment)


def optional_datetime(millis: int | None) -> datetime | None:
    """`from_millis(millis)`, or `None` for `None`."""
    return None if millis is None else from_millis(millis)


def optional_bytes(value: bytes | None) -> bytes | None:
    """`bytes(value)`, or `None` for `None`."""
    return None if value is None else bytes(value)


def user_params(user: User) -> Params:
    """The `users` columns for `user` (not its backup codes), with its lowercased email."""
    return {
        "id": user.id,
        "email": user.email,
        "email_lower": email_key(user.email),
        "full_name": user.full_name,
        "password_hash": user.password_hash,
        "created_at": to_millis(user.created_at),
        "confirmed_at": optional_millis(user.confirmed_at),
        "totp_secret": user.totp_secret,
        "totp_last_step": user.totp_last_step,
        "phone": user.phone,
        "notifications": int(user.notifications),
        "password_changed_at": optional_millis(user.password_changed_at),
        "default_org_id": user.default_org_id,
    }


def user_from_row(row: Row, backup_codes: tuple[str, ...]) -> User:
    """The `User` in a `users` row, with the hashes of its unused backup codes."""
    return User(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        password_hash=row["password_hash"],
        created_at=from_millis(row["created_at"]),
        confirmed_at=optional_datetime(row["confirmed_at"]),
        totp_secret=optional_bytes(row["totp_secret"]),
        totp_last_step=row["totp_last_step"],
        phone=optional_bytes(row["phone"]),
        backup_codes=backup_codes,
        notifications=bool(row["notifications"]),
        password_changed_at=optional_datetime(row["password_changed_at"]),
        default_org_id=row["default_org_id"],
    )


def backup_params(backup: Backup) -> Params:
    """The `backups` columns for `backup`."""
    return {
        "id": backup.id,
        "appliance_id": backup.appliance_id,
        "created_at": to_millis(backup.created_at),
        "filename": backup.filename,
        "content": backup.content,
        "sha256": backup.sha256,
    }


def backup_from_row(row: Row) -> Backup:
    """The `Backup` in a `backups` row."""
    return Backup(
        id=row["id"],
        appliance_id=row["appliance_id"],
        created_at=from_millis(row["created_at"]),
        filename=row["filename"],
        content=bytes(row["content"]),
        sha256=row["sha256"],
    )


def organization_params(organization: Organization) -> Params:
    """The `organizations` columns for `organization`."""
    return {
        "id": organization.id,
        "name": organization.name,
        "created_at": to_millis(organization.created_at),
    }


def organization_from_row(row: Row) -> Organization:
    """The `Organization` in an `organizations` row."""
    return Organization(id=row["id"], name=row["name"], created_at=from_millis(row["created_at"]))


def membership_from_row(row: Row) -> Membership:
    """The `Membership` in a `memberships` row."""
    return Membership(
        org_id=row["org_id"], user_id=row["user_id"], joined_at=from_millis(row["joined_at"])
    )


def invitation_params(invitation: Invitation) -> Params:
    """The `invitations` columns for `invitation`, with its lowercased email for uniqueness."""
    return {
        "id": invitation.id,
        "org_id": invitation.org_id,
        "email": invitation.email,
        "email_lower": email_key(invitation.email),
        "invited_by": invitation.invited_by,
        "created_at": to_millis(invitation.created_at),
        "expires_at": to_millis(invitation.expires_at),
    }


def invitation_from_row(row: Row) -> Invitation:
    """The `Invitation` in an `invitations` row."""
    return Invitation(
        id=row["id"],
        org_id=row["org_id"],
        email=row["email"],
        invited_by=row["invited_by"],
        created_at=from_millis(row["created_at"]),
        expires_at=from_millis(row["expires_at"]),
    )


def session_params(session: Session) -> Params:
    """The `sessions` columns for `session`."""
    return {
        "id_hash": session.id_hash,
        "user_id": session.user_id,
        "created_at": to_millis(session.created_at),
        "last_seen": to_millis(session.last_seen),
        "persistent": int(session.persistent),
        "ip": session.ip,
        "user_agent": session.user_agent,
    }


def session_from_row(row: Row) -> Session:
    """The `Session` in a `sessions` row."""
    return Session(
        id_hash=row["id_hash"],
        user_id=row["user_id"],
        created_at=from_millis(row["created_at"]),
        last_seen=from_millis(row["last_seen"]),
        persistent=bool(row["persistent"]),
        ip=row["ip"],
        user_agent=row["user_agent"],
    )


def login_attempt_params(attempt: LoginAttempt) -> Params:
    """The `login_attempts` columns for `attempt`."""
    return {
        "id_hash": attempt.id_hash,
        "user_id": attempt.user_id,
        "created_at": to_millis(attempt.created_at),
        "persistent": int(attempt.persistent),
        "guesses": attempt.guesses,
        "sms_code_hash": attempt.sms_code_hash,
        "sms_expires_at": optional_millis(attempt.sms_expires_at),
    }


def login_attempt_from_row(row: Row) -> LoginAttempt:
    """The `LoginAttempt` in a `login_attempts` row."""
    return LoginAttempt(
        id_hash=row["id_hash"],
        user_id=row["user_id"],
        created_at=from_millis(row["created_at"]),
        persistent=bool(row["persistent"]),
        guesses=row["guesses"],
        sms_code_hash=row["sms_code_hash"],
        sms_expires_at=optional_datetime(row["sms_expires_at"]),
    )


def token_params(token: OneTimeToken) -> Params:
    """The `tokens` columns for `token`."""
    return {
        "token_hash": token.token_hash,
        "purpose": token.purpose,
        "user_id": token.user_id,
        "created_at": to_millis(token.created_at),
        "expires_at": to_millis(token.expires_at),
        "data": token.data,
    }


def token_from_row(row: Row) -> OneTimeToken:
    """The `OneTimeToken` in a `tokens` row."""
    return OneTimeToken(
        token_hash=row["token_hash"],
        purpose=row["purpose"],
        user_id=row["user_id"],
        created_at=from_millis(row["created_at"]),
        expires_at=from_millis(row["expires_at"]),
        data=row["data"],
    )


def outbox_params(message: OutboxMessage) -> Params:
    """The `outbox` columns for `message`; `to` is a keyword in SQL, so it is `recipient`."""
    return {
        "id": message.id,
        "recipient": message.to,
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "created_at": to_millis(message.created_at),
        "status": message.status,
        "attempts": message.attempts,
        "next_attempt_at": to_millis(message.next_attempt_at),
        "last_error": message.last_error,
        "sent_at": optional_millis(message.sent_at),
    }


def outbox_from_row(row: Row) -> OutboxMessage:
    """The `OutboxMessage` in an `outbox` row."""
    return OutboxMessage(
        id=row["id"],
        to=row["recipient"],
        subject=row["subject"],
        text=row["text"],
        html=row["html"],
        created_at=from_millis(row["created_at"]),
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=from_millis(row["next_attempt_at"]),
        last_error=row["last_error"],
        sent_at=optional_datetime(row["sent_at"]),
    )


def access_event_params(event: AccessEvent) -> Params:
    """The `access_events` columns for `event`."""
    return {
        "id": event.id,
        "user_id": event.user_id,
        "email": event.email,
        "at": to_millis(event.at),
        "ip": event.ip,
        "user_agent": event.user_agent,
        "action": event.action,
        "detail": event.detail,
    }


def access_event_from_row(row: Row) -> AccessEvent:
    """The `AccessEvent` in an `access_events` row."""
    return AccessEvent(
        id=row["id"],
        user_id=row["user_id"],
        email=row["email"],
        at=from_millis(row["at"]),
        ip=row["ip"],
        user_agent=row["user_agent"],
        action=row["action"],
        detail=row["detail"],
    )


def activity_event_params(event: ActivityEvent) -> Params:
    """The `activity_events` columns for `event`."""
    return {
        "id": event.id,
        "org_id": event.org_id,
        "actor_id": event.actor_id,
        "actor_email": event.actor_email,
        "at": to_millis(event.at),
        "ip": event.ip,
        "action": event.action,
        "target": event.target,
        "detail": event.detail,
    }


def activity_event_from_row(row: Row) -> ActivityEvent:
    """The `ActivityEvent` in an `activity_events` row."""
    return ActivityEvent(
        id=row["id"],
        org_id=row["org_id"],
        actor_id=row["actor_id"],
        actor_email=row["actor_email"],
        at=from_millis(row["at"]),
        ip=row["ip"],
        action=row["action"],
        target=row["target"],
        detail=row["detail"],
    )


def insert_statement(table: str, params: Params) -> str:
    """`INSERT INTO table (...) VALUES (:...)` for the columns in `params`."""
    columns = ", ".join(params)
    placeholders = ", ".join(f":{column}" for column in params)
    # Table and column names come from this module, never from input; values stay parameters.
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
