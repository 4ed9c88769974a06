"""Tests of mykerio/protocol/messages.py: the type registry and each type's body schema."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.identity import b64url
from mykerio.protocol.messages import (
    MESSAGE_TYPES,
    RESERVED_TYPES,
    check_body,
    message_type,
)
from mykerio.protocol.status import Knobs
from mykerio.protocol.streams import CONTROL_TYPES

KEY = b64url(bytes(32))
NONCE = b64url(bytes(range(32)))
SIGNATURE = b64url(bytes(64))

VALID: dict[str, dict[str, object]] = {
    "challenge": {
        "version": 1,
        "nonce": NONCE,
        "hub_time": "2026-01-01T12:00:00Z",
        "hub_key": KEY,
        "hub_signature": SIGNATURE,
    },
    "welcome": {"appliance_id": "0123abcd", "name": "Office", "hub_key": KEY},
    "pairing": {
        "code": "ABCDE-23456",
        "link": "https://hub.example/appliances/add#code=ABCDE-23456",
        "expires_at": "2026-01-01T12:15:00+00:00",
    },
    "ping": {},
    "rename": {"name": "Branch office"},
    "organization": {"name": "Acme Brno"},
    "setup_check": {"admin": "existing", "username": "admin", "password": "secret"},
    "remove": {},
    "refused": {"code": "multi_server", "message": "Kerio Connect Multi-Server is not supported"},
    "hello": {"versions": [1, 2], "nonce": NONCE, "product": "connect", "version": "10.0.2"},
    "proof": {"public_key": KEY, "signature": SIGNATURE},
    "status": {"knobs": Knobs().to_json()},
    "pong": {},
    "removed": {},
    "setup": {
        "admin": "existing",
        "username": "admin",
        "password": "s3cret pass",
        "eula_accepted": True,
    },
    "setup_result": {"ok": True},
    "error": {"code": "bad_body", "message": "hello.nonce is missing"},
    # version 2
    "stream_open": {"stream": 2, "kind": "echo", "window": 1048576},
    "stream_accept": {"stream": 2, "window": 1048576},
    "stream_refuse": {"stream": 3, "reason": "unsupported"},
    "stream_credit": {"stream": 2, "bytes": 524288},
    "stream_reset": {"stream": 2, "reason": "cancelled"},
    "definitions_versions": {"versions": {"ip_address_groups": 3, "url_groups": 0}},
    "definitions": {"kind": "time_ranges", "version": 1, "groups": []},
    "definitions_applied": {"kind": "url_groups", "version": 2, "ok": True},
    "import_request": {"kind": "url_groups"},
    "import_result": {"kind": "ip_address_groups", "groups": [{"name": "A", "entries": []}]},
    "backup_now": {},
    "backup_refused": {"stream": 5, "code": "too_large", "message": "The backup is too large."},
    "backup_stored": {
        "stream": 5,
        "backup_id": "18ed7ab0d2d48d30",
        "size": 5243,
        "sha256": "a" * 64,
    },
    "backup_state": {"state": "ok"},
    "backup_settings": {"enabled": True, "every_hours": 24},
    "backup_settings_state": {"enabled": False, "every_hours": 0},
    "relay_email": {"to": ["ana@example.com"], "subject": "Alert", "text": "Low memory\n"},
    "relay_result": {
        "results": [{"address": "ana@example.com", "accepted": True}],
        "quota": {"used": 1, "limit": 100},
    },
    "notification": {
        "id": "low_memory",
        "type": "low_memory",
        "severity": "warning",
        "text": "Low memory",
        "at": "2026-03-02T09:14:05Z",
    },
    # (Exactly one of `id` and `except`: the connection checks that, not the registry.)
    "notification_cleared": {},
}

OPTIONAL: dict[str, dict[str, object]] = {
    "welcome": {"organization": "example.com"},
    "hello": {
        "name": "gw-brno",
        "serial": "SRLNMR123456",
        "multi_server": False,
        "factory_signature": SIGNATURE,
        "features": {"backups": [1], "tunnel": [1, 2]},
    },
    "challenge": {"features": {"backups": 1}},
    "stream_open": {"meta": {"name": "config"}},
    "status": {"version": "9.4.1"},
    "setup": {"email": "it@example.com", "statistics": True},
    "setup_result": {"code": "bad_credentials", "message": "The password is not correct."},
    "backup_state": {"message": "The hub could not store the backup."},
    "relay_email": {
        "html": "<p>Low memory</p>",
        "reply_to": "gw@example.com",
        "test": True,
        "attachments": [{"name": "report.csv", "content_type": "text/csv", "data": "YSxiCg=="}],
    },
    "notification_cleared": {"id": "low_memory"},
}

# (type, field, bad value): one wrong value per field.
INVALID: list[tuple[str, str, object]] = [
    ("challenge", "version", 0),
    ("challenge", "version", True),
    ("challenge", "version", "1"),
    ("challenge", "nonce", b64url(bytes(31))),
    ("challenge", "nonce", NONCE + "="),
    ("challenge", "nonce", NONCE.replace("A", "+")),
    ("challenge", "hub_time", "2026-01-01T12:00:00"),
    ("challenge", "hub_time", "yesterday"),
    ("challenge", "hub_time", 1767268800),
    ("challenge", "hub_key", b64url(bytes(33))),
    ("challenge", "hub_signature", KEY),
    ("welcome", "appliance_id", ""),
    ("welcome", "appliance_id", "a b"),
    ("welcome", "name", ""),
    ("welcome", "name", "x" * 101),
    ("welcome", "name", "tab\there"),
    ("welcome", "organization", 5),
    ("pairing", "code", "abcde-23456"),
    ("pairing", "code", "ABCDE23456"),
    ("pairing", "code", "ABCDE-2345O"),
    ("pairing", "link", "javascript:alert(1)"),
    ("pairing", "expires_at", None),
    ("rename", "name", None),
    ("rename", "name", ["Office"]),
    ("organization", "name", ""),
    ("setup_check", "admin", "maybe"),
    ("organization", "name", "Acme\u009bBrno"),
    ("refused", "code", "Bad Code"),
    ("refused", "message", "x" * 1001),
    ("hello", "versions", []),
    ("hello", "versions", list(range(1, 18))),
    ("hello", "versions", [1, True]),
    ("hello", "versions", "1"),
    ("hello", "versions", [1.0]),
    ("hello", "product", "firewall"),
    ("hello", "version", ""),
    ("hello", "serial", "srlnmr123456"),
    ("hello", "serial", "SRL123"),
    ("hello", "multi_server", "no"),
    ("hello", "factory_signature", NONCE),
    ("proof", "public_key", SIGNATURE),
    ("proof", "signature", NONCE),
    ("status", "knobs", {}),
    ("status", "knobs", {**Knobs().to_json(), "low_memory": 1}),
    ("status", "knobs", {**Knobs().to_json(), "on_fire": True}),
    ("status", "knobs", [False] * 7),
    ("setup", "admin", "guest"),
    ("setup", "username", ""),
    ("setup", "username", "x" * 65),
    ("setup", "password", "x" * 1025),
    ("setup", "password", "new\nline"),
    ("setup", "email", "x" * 255),
    ("setup", "statistics", "yes"),
    ("setup", "eula_accepted", None),
    ("setup_result", "ok", "yes"),
    ("setup_result", "code", "Bad Code"),
    ("setup_result", "message", ""),
    ("error", "code", ""),
    ("error", "message", ""),
    ("hello", "features", {"Backups": [1]}),
    ("hello", "features", {"backups": []}),
    ("challenge", "features", {"backups": [1]}),
    ("stream_open", "stream", 0),
    ("stream_open", "kind", "Echo"),
    ("stream_open", "window", True),
    ("stream_open", "meta", []),
    ("stream_accept", "window", 0),
    ("stream_refuse", "reason", "nope"),
    ("stream_credit", "bytes", 2**31),
    ("stream_reset", "reason", "busy"),
    ("definitions_versions", "versions", {"dns": 1}),
    ("definitions_versions", "versions", {"url_groups": -1}),
    ("definitions", "kind", "services"),
    ("definitions", "version", 2**31),
    ("definitions", "groups", "[]"),
    ("definitions_applied", "errors", [{"group": "A", "entry": 1}]),
    ("definitions_applied", "errors", [{"group": "A", "entry": 1, "message": ""}]),
    ("import_result", "groups", [1]),
    ("backup_refused", "stream", 0),
    ("backup_stored", "size", 0),
    ("backup_stored", "sha256", "A" * 64),
    ("backup_state", "state", "done"),
    ("backup_settings", "enabled", "yes"),
    ("backup_settings", "every_hours", 745),
    ("backup_settings_state", "every_hours", -1),
    ("backup_state", "message", ""),
    ("relay_email", "to", []),
    ("relay_email", "to", "ana@example.com"),
    ("relay_email", "to", ["a@example.com"] * 51),
    ("relay_email", "to", ["a\x00@example.com"]),
    ("relay_email", "subject", ""),
    ("relay_email", "text", "bell\x07"),
    ("relay_email", "text", "x" * (96 * 1024 + 1)),
    ("relay_email", "attachments", [{"name": "a", "content_type": "text/csv"}]),
    ("relay_email", "attachments", [{"name": "../a", "content_type": "text/csv", "data": ""}]),
    ("relay_email", "attachments", [{"name": "a", "content_type": "csv", "data": ""}]),
    ("relay_email", "attachments", [{"name": "a", "content_type": "text/csv", "data": "%%"}]),
    (
        "relay_email",
        "attachments",
        [{"name": "a", "content_type": "text/csv", "data": "A" * (88 * 1024)}],
    ),
    ("relay_result", "results", [{"address": "a@example.com"}]),
    ("relay_result", "quota", {"used": -1, "limit": 100}),
    ("notification", "type", "fire"),
    ("notification", "severity", "info"),
    ("notification", "id", "no spaces"),
    ("notification", "text", ""),
    ("notification", "at", "2026-03-02T09:14:05"),
    ("notification_cleared", "except", ["x"] * 65),
    ("notification_cleared", "except", "low_memory"),
]


def test_the_registry_has_exactly_the_documented_types() -> None:
    """The registry holds the seventeen version 1 types, the five stream types of version 2
    and the four of its `backups` feature, the five of its `definitions` feature, the two of its
    `relay` feature and the two of its `notifications` feature, each with a valid example
    here."""
    assert set(MESSAGE_TYPES) == set(VALID)
    assert not RESERVED_TYPES & set(MESSAGE_TYPES)


def test_each_type_is_sent_by_the_documented_side() -> None:
    """Hub types come only from the hub, appliance types only from appliances, error both ways."""
    from_hub = {name for name, kind in MESSAGE_TYPES.items() if "hub" in kind.senders}
    from_appliance = {name for name, kind in MESSAGE_TYPES.items() if "appliance" in kind.senders}
    hub_only = {
        "challenge",
        "welcome",
        "pairing",
        "ping",
        "rename",
        "organization",
        "remove",
        "refused",
        "setup_check",
        "setup",
        "definitions",
        "import_request",
        "backup_now",
        "backup_refused",
        "backup_stored",
        "backup_settings",
        "relay_result",
    }
    both = {"error", *CONTROL_TYPES}  # (the stream messages of version 2 go both ways)
    assert from_hub == hub_only | both
    assert from_appliance == both | {
        "definitions_versions",
        "definitions_applied",
        "import_result",
        "hello",
        "proof",
        "status",
        "pong",
        "backup_state",
        "backup_settings_state",
        "notification",
        "notification_cleared",
        "removed",
        "setup_result",
        "relay_email",
    }


@pytest.mark.parametrize("name", sorted(VALID))
def test_the_example_of_each_type_passes(name: str) -> None:
    """Each type's example body, with and without its optional fields, matches its schema."""
    check_body(message_type(name), VALID[name])
    check_body(message_type(name), {**VALID[name], **OPTIONAL.get(name, {})})


@pytest.mark.parametrize("name", sorted(VALID))
def test_an_unknown_field_is_refused(name: str) -> None:
    """A body with a field its type does not define is bad_body."""
    with pytest.raises(ProtocolError) as caught:
        check_body(message_type(name), {**VALID[name], "surprise": 1})
    assert caught.value.code == "bad_body"
    assert "surprise" in caught.value.message


@pytest.mark.parametrize(
    ("name", "field"),
    [(name, field) for name, body in sorted(VALID.items()) for field in body],
)
def test_a_missing_required_field_is_refused(name: str, field: str) -> None:
    """Leaving out any required field is bad_body naming type.field."""
    body: Mapping[str, object] = {key: v for key, v in VALID[name].items() if key != field}
    with pytest.raises(ProtocolError) as caught:
        check_body(message_type(name), body)
    assert caught.value.code == "bad_body"
    assert caught.value.message == f"{name}.{field} is missing"


@pytest.mark.parametrize(("name", "field", "value"), INVALID)
def test_a_wrong_value_is_refused_without_echoing_it(name: str, field: str, value: object) -> None:
    """A field with a wrong value is bad_body; the message names the field, not the value."""
    with pytest.raises(ProtocolError) as caught:
        check_body(message_type(name), {**VALID[name], field: value})
    assert caught.value.code == "bad_body"
    assert caught.value.message.startswith(f"{name}.{field} ")
    if isinstance(value, str) and len(value) > 3:
        assert value not in caught.value.message


def test_answers_must_say_what_they_answer() -> None:
    """challenge, proof, pong, setup_result, definitions_applied, import_result and
    relay_result need `re`; the others do not."""
    needing = {name for name, kind in MESSAGE_TYPES.items() if kind.needs_re}
    assert needing == {
        "challenge",
        "proof",
        "pong",
        "setup_result",
        "definitions_applied",
        "import_result",
        "relay_result",
    }


def test_reserved_types_say_they_are_for_later() -> None:
    """A reserved name is refused as unknown_type with a hint that a later version has it."""
    with pytest.raises(ProtocolError) as caught:
        message_type("backup_chunk")
    assert caught.value.code == "unknown_type"
    assert "later protocol version" in caught.value.message


def test_a_type_is_refused_from_the_side_that_does_not_send_it() -> None:
    """message_type(sent_by=...) refuses a hub type from an appliance and the reverse."""
    assert message_type("hello", sent_by="appliance").name == "hello"
    for name, sender in (("welcome", "appliance"), ("proof", "hub")):
        with pytest.raises(ProtocolError) as caught:
            message_type(name, sent_by=sender)  # type: ignore[arg-type]
        assert caught.value.code == "unknown_type"
