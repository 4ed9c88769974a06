"""The registry of message types: who sends each one and the schema its body must match.

Each type lists its body fields; a body must have every required field, may have the optional
ones and nothing else (a new field means a new protocol version; from version 2 on, features
carry their own versions, negotiated in the handshake). Checks are hand-written
functions that return what is wrong, or `None`. Problems name the field, never its value.
Types of later versions are reserved so that nobody reuses their names (docs/protocol.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Literal

from mykerio.protocol import backups, features, frames, identity, pairing, relay, status, streams
from mykerio.protocol import definitions as defs
from mykerio.protocol import notifications as notes
from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.text import NAME_CHARS as NAME_CHARS  # (re-exported: agents use it)
from mykerio.protocol.text import text_problem

Sender = Literal["hub", "appliance"]
Check = Callable[[object], str | None]

HUB: frozenset[Sender] = frozenset({"hub"})
APPLIANCE: frozenset[Sender] = frozenset({"appliance"})
BOTH: frozenset[Sender] = HUB | APPLIANCE

MESSAGE_CHARS = 1000
MAX_OFFERED_VERSIONS = 16
PRODUCTS = ("control", "connect", "operator")
ADMIN_USERNAME_CHARS = 64
ADMIN_PASSWORD_CHARS = 1024
EMAIL_CHARS = 254

_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_SERIAL = re.compile(r"[A-Z0-9]{12}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Field:
    """One body field: how to check its value, and whether the body must have it."""

    check: Check
    required: bool = True


@dataclass(frozen=True, slots=True)
class MessageType:
    """A message type: its name, who may send it, its body fields, whether `re` is required."""

    name: str
    senders: frozenset[Sender]
    fields: Mapping[str, Field]
    needs_re: bool = False


def text(max_chars: int) -> Check:
    """A string of 1 to `max_chars` characters with no control characters (C0, DEL, C1 or
    lone surrogates: the one rule of `mykerio.protocol.text`)."""

    def check(value: object) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        return text_problem(value, max_chars)

    return check


def pattern(regex: re.Pattern[str], description: str) -> Check:
    """A string matching `regex` in full."""

    def check(value: object) -> str | None:
        if isinstance(value, str) and regex.fullmatch(value):
            return None
        return f"must be {description}"

    return check


def one_of(*choices: str) -> Check:
    """One of the given strings."""

    def check(value: object) -> str | None:
        return None if value in choices else "must be one of " + ", ".join(choices)

    return check


def base64url_bytes(length: int) -> Check:
    """Unpadded base64url text of exactly `length` bytes."""

    def check(value: object) -> str | None:
        if not isinstance(value, str):
            return "must be a base64url string"
        try:
            data = identity.from_b64url(value)
        except ValueError:
            return "must be unpadded base64url"
        return None if len(data) == length else f"must encode {length} bytes"

    return check


def boolean(value: object) -> str | None:
    """`true` or `false`."""
    return None if isinstance(value, bool) else "must be true or false"


def positive_int(value: object) -> str | None:
    """A whole number from 1 to 65535 (not a boolean)."""
    if type(value) is int and 1 <= value <= 65535:
        return None
    return "must be a whole number from 1 to 65535"


def timestamp(value: object) -> str | None:
    """An ISO 8601 date and time with a UTC offset, like `2026-01-01T12:00:00Z`."""
    if not isinstance(value, str) or len(value) > 40:
        return "must be an ISO 8601 time"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return "must be an ISO 8601 time"
    return None if parsed.tzinfo is not None else "must carry a UTC offset"


def versions(value: object) -> str | None:
    """A list of 1 to 16 protocol versions."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return "must be a list of versions"
    if not 1 <= len(value) <= MAX_OFFERED_VERSIONS:
        return f"must offer 1 to {MAX_OFFERED_VERSIONS} versions"
    return "must hold whole numbers" if any(positive_int(item) for item in value) else None


def knobs(value: object) -> str | None:
    """An object with exactly the status knobs, each `true` or `false`."""
    if not isinstance(value, Mapping) or set(value) != set(status.KNOB_NAMES):
        return "must hold exactly " + ", ".join(status.KNOB_NAMES)
    if any(not isinstance(flag, bool) for flag in value.values()):
        return "must hold true or false for each knob"
    return None


def url(value: object) -> str | None:
    """An http(s) URL of at most 2048 characters."""
    problem = text(2048)(value)
    if problem is None and not str(value).startswith(("https://", "http://")):
        problem = "must be an http(s) URL"
    return problem


def whole(low: int, high: int) -> Check:
    """A whole number from `low` to `high` (not a boolean)."""

    def check(value: object) -> str | None:
        if type(value) is int and low <= value <= high:
            return None
        return f"must be a whole number from {low} to {high}"

    return check


def json_object(value: object) -> str | None:
    """Any JSON object (its feature checks what it holds)."""
    return None if isinstance(value, Mapping) else "must be an object"


NAME = Field(text(NAME_CHARS))
KEY = Field(base64url_bytes(identity.PUBLIC_KEY_BYTES))
NONCE = Field(base64url_bytes(identity.NONCE_BYTES))
SIGNATURE = Field(base64url_bytes(identity.SIGNATURE_BYTES))
CODE = Field(pattern(_CODE, "a lowercase code like bad_body"))
MESSAGE = Field(text(MESSAGE_CHARS))
APPLIANCE_ID = Field(pattern(_TOKEN, "1 to 64 letters, digits or ._:-"))
STREAM = Field(whole(1, frames.MAX_STREAM_ID))
WINDOW = Field(whole(1, streams.MAX_WINDOW))
PAIRING_CODE = Field(pattern(pairing.CODE_PATTERN, "a pairing code like ABCDE-23456"))

MESSAGE_TYPES: Mapping[str, MessageType] = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            # hub -> appliance
            MessageType(
                "challenge",
                HUB,
                {
                    "version": Field(positive_int),
                    "nonce": NONCE,
                    "hub_time": Field(timestamp),
                    "hub_key": KEY,
                    "hub_signature": SIGNATURE,
                    # Version 2: the features the hub will use, {name: version}.
                    "features": Field(features.chosen_problem, required=False),
                },
                needs_re=True,
            ),
            MessageType(
                "welcome",
                HUB,
                {
                    "appliance_id": APPLIANCE_ID,
                    "name": NAME,
                    "hub_key": KEY,
                    "organization": Field(text(NAME_CHARS), required=False),
                },
            ),
            MessageType(
                "pairing",
                HUB,
                {"code": PAIRING_CODE, "link": Field(url), "expires_at": Field(timestamp)},
            ),
            MessageType("ping", HUB, {}),
            MessageType("rename", HUB, {"name": NAME}),
            MessageType("organization", HUB, {"name": NAME}),
            MessageType("remove", HUB, {}),
            MessageType("refused", HUB, {"code": CODE, "message": MESSAGE}),
            MessageType(
                "setup_check",
                HUB,
                {
                    "admin": Field(one_of("existing", "new")),
                    "username": Field(text(ADMIN_USERNAME_CHARS)),
                    "password": Field(text(ADMIN_PASSWORD_CHARS)),
                },
            ),
            MessageType(
                "setup",
                HUB,
                {
                    "admin": Field(one_of("existing", "new")),
                    "username": Field(text(ADMIN_USERNAME_CHARS)),
                    "password": Field(text(ADMIN_PASSWORD_CHARS)),
                    "email": Field(text(EMAIL_CHARS), required=False),
                    "statistics": Field(boolean, required=False),
                    "eula_accepted": Field(boolean),
                },
            ),
            # hub -> appliance, feature `backups` (mykerio.protocol.backups)
            MessageType("backup_now", HUB, {}),
            MessageType(
                "backup_settings",
                HUB,
                {
                    "enabled": Field(boolean),
                    "every_hours": Field(whole(0, backups.MAX_EVERY_HOURS)),
                },
            ),
            MessageType(
                "backup_refused", HUB, {"stream": STREAM, "code": CODE, "message": MESSAGE}
            ),
            MessageType(
                "backup_stored",
                HUB,
                {
                    "stream": STREAM,
                    "backup_id": APPLIANCE_ID,
                    "size": Field(whole(1, backups.MAX_BACKUP_BYTES)),
                    "sha256": Field(pattern(_SHA256, "64 lowercase hex digits")),
                },
            ),
            # appliance -> hub
            MessageType(
                "hello",
                APPLIANCE,
                {
                    "versions": Field(versions),
                    "nonce": NONCE,
                    "product": Field(one_of(*PRODUCTS)),
                    "version": Field(text(32)),
                    "name": Field(text(NAME_CHARS), required=False),
                    "serial": Field(
                        pattern(_SERIAL, "12 capital letters or digits"), required=False
                    ),
                    "multi_server": Field(boolean, required=False),
                    "factory_signature": Field(
                        base64url_bytes(identity.SIGNATURE_BYTES), required=False
                    ),
                    # Version 2: the features it supports, {name: [versions]}.
                    "features": Field(features.offered_problem, required=False),
                },
            ),
            MessageType(
                "proof", APPLIANCE, {"public_key": KEY, "signature": SIGNATURE}, needs_re=True
            ),
            MessageType(
                "status",
                APPLIANCE,
                {"knobs": Field(knobs), "version": Field(text(32), required=False)},
            ),
            MessageType("pong", APPLIANCE, {}, needs_re=True),
            MessageType(
                "backup_state",
                APPLIANCE,
                {
                    "state": Field(one_of(*backups.STATES)),
                    "message": Field(MESSAGE.check, required=False),
                },
            ),
            MessageType(
                "backup_settings_state",
                APPLIANCE,
                {
                    "enabled": Field(boolean),
                    "every_hours": Field(whole(0, backups.MAX_EVERY_HOURS)),
                },
            ),
            MessageType("removed", APPLIANCE, {}),
            MessageType(
                "setup_result",
                APPLIANCE,
                {
                    "ok": Field(boolean),
                    "code": Field(CODE.check, required=False),
                    "message": Field(MESSAGE.check, required=False),
                },
                needs_re=True,
            ),
            # version 2, feature `definitions` (mykerio.protocol.definitions)
            MessageType(
                "definitions",
                HUB,
                {
                    "kind": Field(defs.kind_problem),
                    "version": Field(defs.version_problem),
                    "groups": Field(defs.groups_problem),
                },
            ),
            MessageType("import_request", HUB, {"kind": Field(defs.kind_problem)}),
            MessageType(
                "definitions_versions", APPLIANCE, {"versions": Field(defs.versions_problem)}
            ),
            MessageType(
                "definitions_applied",
                APPLIANCE,
                {
                    "kind": Field(defs.kind_problem),
                    "version": Field(defs.version_problem),
                    "ok": Field(boolean),
                    "errors": Field(defs.errors_problem, required=False),
                },
                needs_re=True,
            ),
            MessageType(
                "import_result",
                APPLIANCE,
                {"kind": Field(defs.kind_problem), "groups": Field(defs.groups_problem)},
                needs_re=True,
            ),
            # version 2, feature `relay` (mykerio.protocol.relay)
            MessageType(
                "relay_email",
                APPLIANCE,
                {
                    "to": Field(relay.recipients_problem),
                    "subject": Field(text(relay.SUBJECT_CHARS)),
                    "text": Field(relay.body_problem),
                    "html": Field(relay.body_problem, required=False),
                    "reply_to": Field(text(relay.ADDRESS_CHARS), required=False),
                    "attachments": Field(relay.attachments_problem, required=False),
                    "test": Field(boolean, required=False),
                },
            ),
            MessageType(
                "relay_result",
                HUB,
                {
                    "results": Field(relay.results_problem),
                    "quota": Field(relay.quota_problem),
                },
                needs_re=True,
            ),
            # version 2, feature `notifications` (mykerio.protocol.notifications)
            MessageType(
                "notification",
                APPLIANCE,
                {
                    "id": Field(pattern(notes.NOTICE_ID, "1 to 64 letters, digits or ._:-")),
                    "type": Field(one_of(*notes.TYPES)),
                    "severity": Field(one_of(*notes.SEVERITIES)),
                    "text": Field(text(notes.TEXT_CHARS)),
                    "at": Field(timestamp),
                },
            ),
            MessageType(
                "notification_cleared",
                APPLIANCE,
                {
                    "id": Field(
                        pattern(notes.NOTICE_ID, "1 to 64 letters, digits or ._:-"),
                        required=False,
                    ),
                    "except": Field(notes.cleared_problem, required=False),
                },
            ),
            # both ways
            MessageType("error", BOTH, {"code": CODE, "message": MESSAGE}),
            # both ways, version 2 only: streams (mykerio.protocol.streams)
            MessageType(
                "stream_open",
                BOTH,
                {
                    "stream": STREAM,
                    "kind": Field(pattern(_KIND, "1 to 32 of a-z 0-9 _, starting with a letter")),
                    "window": WINDOW,
                    "meta": Field(json_object, required=False),
                },
            ),
            MessageType("stream_accept", BOTH, {"stream": STREAM, "window": WINDOW}),
            MessageType(
                "stream_refuse",
                BOTH,
                {"stream": STREAM, "reason": Field(one_of(*streams.REFUSE_REASONS))},
            ),
            MessageType("stream_credit", BOTH, {"stream": STREAM, "bytes": WINDOW}),
            MessageType(
                "stream_reset",
                BOTH,
                {"stream": STREAM, "reason": Field(one_of(*streams.RESET_REASONS))},
            ),
        )
    }
)

RESERVED_TYPES: frozenset[str] = frozenset(
    {
        "backup_begin",
        "backup_chunk",
        "backup_end",
        "tunnel_open",
        "tunnel_frame",
        "tunnel_close",
    }
)


def message_type(name: str, *, sent_by: Sender | None = None) -> MessageType:
    """The registered type called `name`; `ProtocolError("unknown_type")` if there is none.

    With `sent_by`, a type the other side sends is refused too: a hub never accepts `welcome`.
    """
    kind = MESSAGE_TYPES.get(name)
    if kind is None:
        later = " (reserved for a later protocol version)" if name in RESERVED_TYPES else ""
        raise ProtocolError("unknown_type", f"unknown message type{later}")
    if sent_by is not None and sent_by not in kind.senders:
        article = "an" if sent_by == "appliance" else "a"
        raise ProtocolError("unknown_type", f"{article} {sent_by} does not send {name}")
    return kind


def check_body(kind: MessageType, body: Mapping[str, object]) -> None:
    """Raise `ProtocolError("bad_body")` unless `body` matches the schema of `kind`."""
    for field_name in body:
        if field_name not in kind.fields:
            raise ProtocolError("bad_body", f"{kind.name} has no field {_quoted(field_name)}")
    for field_name, field in kind.fields.items():
        if field_name not in body:
            if field.required:
                raise ProtocolError("bad_body", f"{kind.name}.{field_name} is missing")
            continue
        problem = field.check(body[field_name])
        if problem is not None:
            raise ProtocolError("bad_body", f"{kind.name}.{field_name} {problem}")


def _quoted(field_name: str) -> str:
    # A field name comes from the other side; keep it short and printable before echoing it.
    return repr(field_name[:40]) if field_name.isprintable() else "(unprintable)"
