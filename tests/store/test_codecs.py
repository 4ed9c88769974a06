"""Each model's table: the rows and documents its codecs write are the ones stored before.

The SQLite rows and MongoDB documents below are what the hand-written converters that the
codecs replaced wrote for the same values, so stores written by older hubs read back unchanged.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mykerio.models import (
    AccessEvent,
    ActivityEvent,
    Appliance,
    Backup,
    Invitation,
    LoginAttempt,
    Membership,
    OneTimeToken,
    Organization,
    OutboxMessage,
    Pairing,
    Session,
    StatusChange,
    User,
)
from mykerio.store import codecs
from mykerio.store.codec import Table
from mykerio.store.values import to_millis
from tests.store.factories import T0

MS = timedelta(milliseconds=1)
T0_MS = to_millis(T0)

USER = User(
    id="u1",
    email="Ann@Example.com",
    full_name="Ann",
    password_hash="h",
    created_at=T0,
    confirmed_at=T0 + MS,
    totp_secret=b"\x01s",
    totp_last_step=7,
    phone=b"\x02p",
    backup_codes=("c1", "c2"),
    notifications=False,
    password_changed_at=T0 + 2 * MS,
    default_org_id="o1",
)
USER_COMMON = {
    "email": "Ann@Example.com",
    "email_lower": "ann@example.com",
    "full_name": "Ann",
    "password_hash": "h",
    "totp_secret": b"\x01s",
    "phone": b"\x02p",
    "default_org_id": "o1",
}
APPLIANCE = Appliance(
    id="ap1",
    org_id="o1",
    product="control",
    version="9.4",
    name="Office",
    public_key=b"\x00k",
    serial="SRL1",
    ip="192.0.2.9",
    status="yellow",
    status_reasons=("Update", "Disk"),
    pending_notifications=2,
    created_at=T0,
    last_seen=T0 + MS,
    connected=True,
)
APPLIANCE_COMMON = {
    "org_id": "o1",
    "product": "control",
    "version": "9.4",
    "name": "Office",
    "public_key": b"\x00k",
    "serial": "SRL1",
    "ip": "192.0.2.9",
    "status": "yellow",
    "pending_notifications": 2,
}
OUTBOX_COMMON = {
    "subject": "Hi",
    "text": "sealed",
    "html": "",
    "status": "sent",
    "attempts": 1,
    "last_error": "",
}

# (table, value, the SQLite row, the MongoDB document, what decode takes from elsewhere)
CASES: list[tuple[Table[Any], object, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        codecs.USERS,
        USER,
        {
            "id": "u1",
            **USER_COMMON,
            "created_at": T0_MS,
            "confirmed_at": T0_MS + 1,
            "totp_last_step": 7,
            "notifications": 0,
            "password_changed_at": T0_MS + 2,
        },
        {
            "_id": "u1",
            **USER_COMMON,
            "created_at": T0,
            "confirmed_at": T0 + MS,
            "notifications": False,
            "password_changed_at": T0 + 2 * MS,
        },
        {"backup_codes": ("c1", "c2")},
    ),
    (
        codecs.ORGANIZATIONS,
        Organization(id="o1", name="Acme", created_at=T0),
        {"id": "o1", "name": "Acme", "created_at": T0_MS},
        {"_id": "o1", "name": "Acme", "created_at": T0},
        {},
    ),
    (
        codecs.MEMBERSHIPS,
        Membership(org_id="o1", user_id="u1", joined_at=T0),
        {"org_id": "o1", "user_id": "u1", "joined_at": T0_MS},
        {"org_id": "o1", "user_id": "u1", "joined_at": T0},
        {},
    ),
    (
        codecs.INVITATIONS,
        Invitation(
            id="i1",
            org_id="o1",
            email="Bob@Example.com",
            invited_by="u1",
            created_at=T0,
            expires_at=T0 + MS,
        ),
        {
            "id": "i1",
            "org_id": "o1",
            "email": "Bob@Example.com",
            "email_lower": "bob@example.com",
            "invited_by": "u1",
            "created_at": T0_MS,
            "expires_at": T0_MS + 1,
        },
        {
            "_id": "i1",
            "org_id": "o1",
            "email": "Bob@Example.com",
            "email_lower": "bob@example.com",
            "invited_by": "u1",
            "created_at": T0,
            "expires_at": T0 + MS,
        },
        {},
    ),
    (
        codecs.ACTIVITY_EVENTS,
        ActivityEvent(
            id="a1",
            org_id="o1",
            actor_id="u1",
            actor_email="ann@example.com",
            at=T0,
            ip="192.0.2.1",
            action="member_invited",
            target="bob@example.com",
            detail="d",
        ),
        {
            "id": "a1",
            "org_id": "o1",
            "actor_id": "u1",
            "actor_email": "ann@example.com",
            "at": T0_MS,
            "ip": "192.0.2.1",
            "action": "member_invited",
            "target": "bob@example.com",
            "detail": "d",
        },
        {
            "_id": "a1",
            "org_id": "o1",
            "actor_id": "u1",
            "actor_email": "ann@example.com",
            "at": T0,
            "ip": "192.0.2.1",
            "action": "member_invited",
            "target": "bob@example.com",
            "detail": "d",
        },
        {},
    ),
    (
        codecs.SESSIONS,
        Session(
            id_hash="s1",
            user_id="u1",
            created_at=T0,
            last_seen=T0 + MS,
            persistent=True,
            ip="192.0.2.1",
            user_agent="ua",
        ),
        {
            "id_hash": "s1",
            "user_id": "u1",
            "created_at": T0_MS,
            "last_seen": T0_MS + 1,
            "persistent": 1,
            "ip": "192.0.2.1",
            "user_agent": "ua",
        },
        {
            "_id": "s1",
            "user_id": "u1",
            "created_at": T0,
            "last_seen": T0 + MS,
            "persistent": True,
            "ip": "192.0.2.1",
            "user_agent": "ua",
        },
        {},
    ),
    (
        codecs.LOGIN_ATTEMPTS,
        LoginAttempt(
            id_hash="l1",
            user_id="u1",
            created_at=T0,
            persistent=True,
            guesses=2,
            sms_code_hash="x",
            sms_expires_at=T0 + MS,
        ),
        {
            "id_hash": "l1",
            "user_id": "u1",
            "created_at": T0_MS,
            "persistent": 1,
            "guesses": 2,
            "sms_code_hash": "x",
            "sms_expires_at": T0_MS + 1,
        },
        {
            "_id": "l1",
            "user_id": "u1",
            "created_at": T0,
            "persistent": True,
            "guesses": 2,
            "sms_code_hash": "x",
            "sms_expires_at": T0 + MS,
        },
        {},
    ),
    (
        codecs.TOKENS,
        OneTimeToken(
            token_hash="t1",
            purpose="reset",
            user_id="u1",
            created_at=T0,
            expires_at=T0 + MS,
            data="{}",
        ),
        {
            "token_hash": "t1",
            "purpose": "reset",
            "user_id": "u1",
            "created_at": T0_MS,
            "expires_at": T0_MS + 1,
            "data": "{}",
        },
        {
            "_id": "t1",
            "purpose": "reset",
            "user_id": "u1",
            "created_at": T0,
            "expires_at": T0 + MS,
            "data": "{}",
        },
        {},
    ),
    (
        codecs.OUTBOX,
        OutboxMessage(
            id="m1",
            to="bob@example.com",
            subject="Hi",
            text="sealed",
            html="",
            created_at=T0,
            status="sent",
            attempts=1,
            next_attempt_at=T0,
            last_error="",
            sent_at=T0 + MS,
        ),
        {
            "id": "m1",
            "recipient": "bob@example.com",
            **OUTBOX_COMMON,
            "created_at": T0_MS,
            "next_attempt_at": T0_MS,
            "sent_at": T0_MS + 1,
        },
        {
            "_id": "m1",
            "to": "bob@example.com",
            **OUTBOX_COMMON,
            "created_at": T0,
            "next_attempt_at": T0,
            "sent_at": T0 + MS,
        },
        {},
    ),
    (
        codecs.ACCESS_EVENTS,
        AccessEvent(
            id="e1",
            user_id="u1",
            email="ann@example.com",
            at=T0,
            ip="192.0.2.1",
            user_agent="ua",
            action="login",
            detail="",
        ),
        {
            "id": "e1",
            "user_id": "u1",
            "email": "ann@example.com",
            "at": T0_MS,
            "ip": "192.0.2.1",
            "user_agent": "ua",
            "action": "login",
            "detail": "",
        },
        {
            "_id": "e1",
            "user_id": "u1",
            "email": "ann@example.com",
            "at": T0,
            "ip": "192.0.2.1",
            "user_agent": "ua",
            "action": "login",
            "detail": "",
        },
        {},
    ),
    (
        codecs.APPLIANCES,
        APPLIANCE,
        {
            "id": "ap1",
            **APPLIANCE_COMMON,
            "status_reasons": '["Update", "Disk"]',
            "created_at": T0_MS,
            "last_seen": T0_MS + 1,
            "connected": 1,
        },
        {
            "_id": "ap1",
            **APPLIANCE_COMMON,
            "status_reasons": ["Update", "Disk"],
            "created_at": T0,
            "last_seen": T0 + MS,
            "connected": True,
        },
        {},
    ),
    (
        codecs.PAIRINGS,
        Pairing(
            code_hash="p1",
            public_key=b"\x00k",
            product="control",
            version="9.4",
            name_hint="box",
            ip="192.0.2.9",
            created_at=T0,
            expires_at=T0 + MS,
        ),
        {
            "code_hash": "p1",
            "public_key": b"\x00k",
            "product": "control",
            "version": "9.4",
            "name_hint": "box",
            "ip": "192.0.2.9",
            "created_at": T0_MS,
            "expires_at": T0_MS + 1,
        },
        {
            "_id": "p1",
            "public_key": b"\x00k",
            "product": "control",
            "version": "9.4",
            "name_hint": "box",
            "ip": "192.0.2.9",
            "created_at": T0,
            "expires_at": T0 + MS,
        },
        {},
    ),
    (
        codecs.STATUS_CHANGES,
        StatusChange(
            id="sc1", appliance_id="ap1", org_id="o1", at=T0, status="red", reasons=("Offline",)
        ),
        {
            "id": "sc1",
            "appliance_id": "ap1",
            "org_id": "o1",
            "at": T0_MS,
            "status": "red",
            "reasons": '["Offline"]',
        },
        {
            "_id": "sc1",
            "appliance_id": "ap1",
            "org_id": "o1",
            "at": T0,
            "status": "red",
            "reasons": ["Offline"],
        },
        {},
    ),
    (
        codecs.BACKUPS,
        Backup(
            id="b1",
            appliance_id="ap1",
            created_at=T0,
            filename="c.bak",
            content=b"\x00\xff",
            sha256="ab",
        ),
        {
            "id": "b1",
            "appliance_id": "ap1",
            "created_at": T0_MS,
            "filename": "c.bak",
            "content": b"\x00\xff",
            "sha256": "ab",
        },
        {
            "_id": "b1",
            "appliance_id": "ap1",
            "created_at": T0,
            "filename": "c.bak",
            "content": b"\x00\xff",
            "sha256": "ab",
        },
        {},
    ),
]


@pytest.mark.parametrize(
    ("table", "value", "row", "document", "elsewhere"),
    CASES,
    ids=[case[0].name for case in CASES],
)
def test_rows_and_documents_are_written_as_before_and_read_back(
    table: Table[Any],
    value: object,
    row: dict[str, Any],
    document: dict[str, Any],
    elsewhere: dict[str, Any],
) -> None:
    """Each model's row and document are exactly those stored before; both decode to it."""
    assert table.sqlite.encode(value) == row
    assert table.mongo.encode(value) == document
    mongo_elsewhere = dict(elsewhere)
    if table is codecs.USERS:
        mongo_elsewhere["totp_last_step"] = USER.totp_last_step
    assert table.sqlite.decode(row, **elsewhere) == value
    assert table.mongo.decode(document, **mongo_elsewhere) == value


def test_every_table_is_covered() -> None:
    """Every table declared in `codecs` has its stored forms pinned above."""
    declared = {name for name, item in vars(codecs).items() if isinstance(item, Table)}
    pinned = {name for name, item in vars(codecs).items() if any(item is c[0] for c in CASES)}
    assert declared == pinned


def test_documents_from_before_a_field_existed_read_with_its_default() -> None:
    """A user or appliance document older hubs wrote without later fields reads with defaults."""
    old_user = {
        "_id": "u1",
        "email": "Ann@Example.com",
        "email_lower": "ann@example.com",
        "full_name": "Ann",
        "password_hash": "h",
        "created_at": T0,
        "confirmed_at": None,
    }
    old_appliance = {
        "_id": "ap1",
        "org_id": "o1",
        "product": "control",
        "version": "9.4",
        "name": "Office",
        "public_key": b"\x00k",
        "ip": "192.0.2.9",
        "status": "red",
        "created_at": T0,
        "last_seen": None,
    }

    user = codecs.USERS.mongo.decode(old_user, backup_codes=(), totp_last_step=None)
    appliance = codecs.APPLIANCES.mongo.decode(old_appliance)

    assert (user.totp_secret, user.phone, user.notifications) == (None, None, True)
    assert (user.password_changed_at, user.default_org_id) == (None, "")
    assert (appliance.serial, appliance.status_reasons) == ("", ())
    assert (appliance.pending_notifications, appliance.connected) == (0, False)
