"""Each model's table: the rows and documents its codecs write are the ones stored before.

The SQLite rows and MongoDB documents below are what the hand-written converters that the
codecs replaced wrote for the same values, so stores written by older hubs read back unchanged.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mykerio import models
from mykerio.store import codecs
from mykerio.store.codec import Table
from mykerio.store.sqlite.migrations import migrate
from mykerio.store.values import to_millis
from tests.store.factories import T0

MS = timedelta(milliseconds=1)
T0_MS = to_millis(T0)

Stored = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """A value and how it is stored: `common` columns in both stores, then each store's own
    (ids, times, booleans, tuples); `elsewhere` is what decode takes from other tables.
    """

    table: Table[Any]
    value: object
    common: Stored
    sqlite: Stored
    mongo: Stored
    elsewhere: Stored = field(default_factory=dict)

    @property
    def row(self) -> Stored:
        return {**self.common, **self.sqlite}

    @property
    def document(self) -> Stored:
        return {**self.common, **self.mongo}


def times(**offsets: int | None) -> tuple[Stored, Stored]:
    """The SQLite and MongoDB forms of datetime columns `T0 + offset` milliseconds (or None)."""
    row = {name: None if ms is None else T0_MS + ms for name, ms in offsets.items()}
    document = {name: None if ms is None else T0 + ms * MS for name, ms in offsets.items()}
    return row, document


def case(
    table: Table[Any],
    value: object,
    common: Stored,
    *,
    key: tuple[str, str] = ("id", ""),
    sqlite: Stored | None = None,
    mongo: Stored | None = None,
    elsewhere: Stored | None = None,
    **offsets: int | None,
) -> Case:
    """A `Case` whose key column is `key[0]` in SQLite and `_id` in MongoDB (value `key[1]`)."""
    row_times, document_times = times(**offsets)
    row_key = {key[0]: key[1]} if key[1] else {}
    document_key = {"_id": key[1]} if key[1] else {}
    return Case(
        table,
        value,
        common,
        {**row_key, **row_times, **(sqlite or {})},
        {**document_key, **document_times, **(mongo or {})},
        elsewhere or {},
    )


CASES = [
    case(
        codecs.USERS,
        models.User(
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
        ),
        {
            "email": "Ann@Example.com",
            "email_lower": "ann@example.com",
            "full_name": "Ann",
            "password_hash": "h",
            "totp_secret": b"\x01s",
            "phone": b"\x02p",
            "default_org_id": "o1",
        },
        key=("id", "u1"),
        sqlite={"totp_last_step": 7, "notifications": 0},
        mongo={"notifications": False},
        elsewhere={"backup_codes": ("c1", "c2")},
        created_at=0,
        confirmed_at=1,
        password_changed_at=2,
    ),
    case(
        codecs.ORGANIZATIONS,
        models.Organization(id="o1", name="Acme", created_at=T0),
        {"name": "Acme"},
        key=("id", "o1"),
        created_at=0,
    ),
    case(
        codecs.MEMBERSHIPS,
        models.Membership(org_id="o1", user_id="u1", joined_at=T0),
        {"org_id": "o1", "user_id": "u1"},
        joined_at=0,
    ),
    case(
        codecs.INVITATIONS,
        models.Invitation(
            id="i1",
            org_id="o1",
            email="Bob@Example.com",
            invited_by="u1",
            created_at=T0,
            expires_at=T0 + MS,
        ),
        {
            "org_id": "o1",
            "email": "Bob@Example.com",
            "email_lower": "bob@example.com",
            "invited_by": "u1",
        },
        key=("id", "i1"),
        created_at=0,
        expires_at=1,
    ),
    case(
        codecs.ACTIVITY_EVENTS,
        models.ActivityEvent(
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
            "org_id": "o1",
            "actor_id": "u1",
            "actor_email": "ann@example.com",
            "ip": "192.0.2.1",
            "action": "member_invited",
            "target": "bob@example.com",
            "detail": "d",
        },
        key=("id", "a1"),
        at=0,
    ),
    case(
        codecs.SESSIONS,
        models.Session(
            id_hash="s1",
            user_id="u1",
            created_at=T0,
            last_seen=T0 + MS,
            persistent=True,
            ip="192.0.2.1",
            user_agent="ua",
        ),
        {"user_id": "u1", "ip": "192.0.2.1", "user_agent": "ua"},
        key=("id_hash", "s1"),
        sqlite={"persistent": 1},
        mongo={"persistent": True},
        created_at=0,
        last_seen=1,
    ),
    case(
        codecs.LOGIN_ATTEMPTS,
        models.LoginAttempt(
            id_hash="l1",
            user_id="u1",
            created_at=T0,
            persistent=False,
            guesses=2,
            sms_code_hash=None,
            sms_expires_at=None,
        ),
        {"user_id": "u1", "guesses": 2, "sms_code_hash": None},
        key=("id_hash", "l1"),
        sqlite={"persistent": 0},
        mongo={"persistent": False},
        created_at=0,
        sms_expires_at=None,
    ),
    case(
        codecs.TOKENS,
        models.OneTimeToken(
            token_hash="t1",
            purpose="reset",
            user_id="u1",
            created_at=T0,
            expires_at=T0 + MS,
            data="{}",
        ),
        {"purpose": "reset", "user_id": "u1", "data": "{}"},
        key=("token_hash", "t1"),
        created_at=0,
        expires_at=1,
    ),
    case(
        codecs.OUTBOX,
        models.OutboxMessage(
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
            "subject": "Hi",
            "text": "sealed",
            "html": "",
            "status": "sent",
            "attempts": 1,
            "last_error": "",
            "origin": "",
            "from_header": "",
            "reply_to": "",
        },
        key=("id", "m1"),
        sqlite={"recipient": "bob@example.com"},
        mongo={"to": "bob@example.com"},
        created_at=0,
        next_attempt_at=0,
        sent_at=1,
    ),
    case(
        codecs.ACCESS_EVENTS,
        models.AccessEvent(
            id="e1",
            user_id="",
            email="ann@example.com",
            at=T0,
            ip="192.0.2.1",
            user_agent="ua",
            action="login_failed",
            detail="no such user",
        ),
        {
            "user_id": "",
            "email": "ann@example.com",
            "ip": "192.0.2.1",
            "user_agent": "ua",
            "action": "login_failed",
            "detail": "no such user",
        },
        key=("id", "e1"),
        at=0,
    ),
    case(
        codecs.APPLIANCES,
        models.Appliance(
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
        ),
        {
            "org_id": "o1",
            "product": "control",
            "version": "9.4",
            "name": "Office",
            "public_key": b"\x00k",
            "serial": "SRL1",
            "ip": "192.0.2.9",
            "status": "yellow",
            "pending_notifications": 2,
        },
        key=("id", "ap1"),
        sqlite={"status_reasons": '["Update", "Disk"]', "connected": 1},
        mongo={"status_reasons": ["Update", "Disk"], "connected": True},
        created_at=0,
        last_seen=1,
    ),
    case(
        codecs.PAIRINGS,
        models.Pairing(
            code_hash="p1",
            public_key=b"\x00k",
            product="connect",
            version="9.5",
            name_hint="box",
            ip="192.0.2.7",
            created_at=T0,
            expires_at=T0 + MS,
        ),
        {
            "public_key": b"\x00k",
            "product": "connect",
            "version": "9.5",
            "name_hint": "box",
            "ip": "192.0.2.7",
        },
        key=("code_hash", "p1"),
        created_at=0,
        expires_at=1,
    ),
    case(
        codecs.STATUS_CHANGES,
        models.StatusChange(
            id="sc1", appliance_id="ap1", org_id="o1", at=T0, status="red", reasons=("Offline",)
        ),
        {"appliance_id": "ap1", "org_id": "o1", "status": "red"},
        key=("id", "sc1"),
        sqlite={"reasons": '["Offline"]'},
        mongo={"reasons": ["Offline"]},
        at=0,
    ),
    case(
        codecs.BACKUPS,
        models.Backup(
            id="b1",
            appliance_id="ap1",
            org_id="o1",
            appliance_name="Brno gateway",
            product="control",
            version="9.4.5",
            created_at=T0,
            stored_at=T0 + timedelta(milliseconds=2),
            size=4096,
            sha256="ab",
            reason="manual",
            certificates=True,
        ),
        {
            "appliance_id": "ap1",
            "org_id": "o1",
            "appliance_name": "Brno gateway",
            "product": "control",
            "version": "9.4.5",
            "size": 4096,
            "sha256": "ab",
            "reason": "manual",
        },
        key=("id", "b1"),
        sqlite={"certificates": 1},
        mongo={"certificates": True},
        created_at=0,
        stored_at=2,
    ),
    case(
        codecs.DEFINITION_VERSIONS,
        models.DefinitionVersion(
            id="o1:url_groups:0000000003",
            org_id="o1",
            kind="url_groups",
            version=3,
            at=T0,
            actor_email="ann@example.com",
            change='added "Ads"',
            groups='[{"id":"a1","name":"Ads","entries":[]}]',
        ),
        {
            "org_id": "o1",
            "kind": "url_groups",
            "version": 3,
            "actor_email": "ann@example.com",
            "change": 'added "Ads"',
            "groups": '[{"id":"a1","name":"Ads","entries":[]}]',
        },
        key=("id", "o1:url_groups:0000000003"),
        at=0,
    ),
    case(
        codecs.RELAY_SENDERS,
        models.RelaySender(
            id="key:abc",
            window_started_at=T0,
            window_count=3,
            sent_total=7,
            refused_quota=1,
            refused_blacklisted=2,
            refused_bounced=0,
            refused_format=4,
            bounced_recipients=("bob@example.com",),
            updated_at=T0 + MS,
        ),
        {
            "window_count": 3,
            "sent_total": 7,
            "refused_quota": 1,
            "refused_blacklisted": 2,
            "refused_bounced": 0,
            "refused_format": 4,
        },
        key=("id", "key:abc"),
        sqlite={"bounced_recipients": '["bob@example.com"]'},
        mongo={"bounced_recipients": ["bob@example.com"]},
        window_started_at=0,
        updated_at=1,
    ),
    case(
        codecs.RELAY_BLACKLIST,
        models.BlacklistEntry(
            address="bob@example.com",
            first_bounce_at=T0,
            last_bounce_at=T0 + MS,
            release_at=T0 + 2 * MS,
            bounces=2,
            last_reason="550 5.1.1 user unknown",
        ),
        {"bounces": 2, "last_reason": "550 5.1.1 user unknown"},
        key=("address", "bob@example.com"),
        first_bounce_at=0,
        last_bounce_at=1,
        release_at=2,
    ),
    case(
        codecs.ALERT_RECORDS,
        models.AlertRecord(
            id="r1",
            at=T0,
            kind="floor",
            org_id="o1",
            appliance_id="ap1",
            user_id="u1",
            appliance_name="Brno gateway",
            change="offline",
            changed_at=T0 + MS,
            repeats=3,
            told_down=True,
            detail="",
        ),
        {
            "kind": "floor",
            "org_id": "o1",
            "appliance_id": "ap1",
            "user_id": "u1",
            "appliance_name": "Brno gateway",
            "change": "offline",
            "repeats": 3,
            "detail": "",
        },
        key=("id", "r1"),
        sqlite={"told_down": 1},
        mongo={"told_down": True},
        at=0,
        changed_at=1,
    ),
    case(
        codecs.ALERT_SETTINGS,
        models.AlertSetting(
            id="o1:ap1::grace_seconds",
            at=T0,
            org_id="o1",
            appliance_id="ap1",
            user_id="",
            name="grace_seconds",
            value="300",
        ),
        {
            "org_id": "o1",
            "appliance_id": "ap1",
            "user_id": "",
            "name": "grace_seconds",
            "value": "300",
        },
        key=("id", "o1:ap1::grace_seconds"),
        at=0,
    ),
    case(
        codecs.APPLIANCE_NOTIFICATIONS,
        models.ApplianceNotification(
            id="ap1:n1",
            at=T0,
            org_id="o1",
            appliance_id="ap1",
            notice_id="n1",
            type="low_memory",
            severity="warning",
            text="Low memory",
            raised_at=T0 + MS,
        ),
        {
            "org_id": "o1",
            "appliance_id": "ap1",
            "notice_id": "n1",
            "type": "low_memory",
            "severity": "warning",
            "text": "Low memory",
        },
        key=("id", "ap1:n1"),
        at=0,
        raised_at=1,
    ),
    case(
        codecs.WEBHOOKS,
        models.Webhook(
            id="w1",
            at=T0,
            org_id="o1",
            name="Ops chat",
            url="https://chat.example/hook",
            format="slack",
            events=("status", "notification"),
            severity_from="error",
            secret=b"\x01sealed",
            created_by="ann@example.com",
        ),
        {
            "org_id": "o1",
            "name": "Ops chat",
            "url": "https://chat.example/hook",
            "format": "slack",
            "severity_from": "error",
            "secret": b"\x01sealed",
            "created_by": "ann@example.com",
        },
        key=("id", "w1"),
        sqlite={"events": '["status", "notification"]'},
        mongo={"events": ["status", "notification"]},
        at=0,
    ),
    case(
        codecs.WEBHOOK_DELIVERIES,
        models.WebhookDelivery(
            id="d1",
            at=T0,
            org_id="o1",
            webhook_id="w1",
            event="status",
            body="{}",
            status="sent",
            attempts=2,
            next_attempt_at=T0 + MS,
            response_status=204,
            last_error="",
            done_at=T0 + 2 * MS,
        ),
        {
            "org_id": "o1",
            "webhook_id": "w1",
            "event": "status",
            "body": "{}",
            "status": "sent",
            "attempts": 2,
            "response_status": 204,
            "last_error": "",
        },
        key=("id", "d1"),
        at=0,
        next_attempt_at=1,
        done_at=2,
    ),
]


@pytest.mark.parametrize("stored", CASES, ids=[stored.table.name for stored in CASES])
def test_rows_and_documents_are_written_as_before_and_read_back(stored: Case) -> None:
    """Each model's row and document are exactly those stored before; both decode to it."""
    mongo_elsewhere = dict(stored.elsewhere)
    if stored.table is codecs.USERS:
        mongo_elsewhere["totp_last_step"] = 7  # kept in `totp_steps` on MongoDB

    assert stored.table.sqlite.encode(stored.value) == stored.row
    assert stored.table.mongo.encode(stored.value) == stored.document
    assert stored.table.sqlite.decode(stored.row, **stored.elsewhere) == stored.value
    assert stored.table.mongo.decode(stored.document, **mongo_elsewhere) == stored.value


def test_every_table_is_covered() -> None:
    """Every table declared in `codecs` has its stored forms pinned above."""
    declared = {name for name, item in vars(codecs).items() if isinstance(item, Table)}
    pinned = {name for name, item in vars(codecs).items() if any(item is c.table for c in CASES)}
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


def test_every_sqlite_table_has_exactly_its_codecs_columns(tmp_path: Path) -> None:
    """After all migrations each table's columns are the ones its codec reads and writes."""
    with sqlite3.connect(tmp_path / "schema.sqlite3", isolation_level=None) as connection:
        migrate(connection, tmp_path / "schema.sqlite3")
        for stored in CASES:
            info = connection.execute(f"PRAGMA table_info({stored.table.name})").fetchall()
            assert {column[1] for column in info} == set(stored.table.sqlite.columns)
    connection.close()
