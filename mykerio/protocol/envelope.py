"""JSON envelopes, the frames of the appliance link: `{"id", "type", "re"?, "body"}`.

`decode` turns a frame into an `Envelope` or raises `ProtocolError` with a stable code; `encode`
turns one back into compact JSON. An `Envelope` is checked against the message registry when it
is made and its body is frozen (objects become read-only mappings, arrays tuples), so it is an
immutable value that may cross an actor boundary and is always well formed.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeAlias, cast

from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.messages import Sender, check_body, message_type

JsonValue: TypeAlias = (
    "bool | int | float | str | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
)

# Backups travel in chunks, so no frame needs more; Tornado's websocket_max_message_size
# should be set to the same value so an oversized frame is refused before it is buffered whole.
MAX_MESSAGE_BYTES = 256 * 1024

_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_ENVELOPE_KEYS = frozenset({"id", "type", "re", "body"})


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message: a sender-chosen `id`, its `type`, the `id` it answers (`re`) and its body."""

    id: str
    type: str
    body: Mapping[str, JsonValue]
    re: str | None = None
    # `encode`'s text and its UTF-8 length, kept at the first encoding: one message sent to
    # many appliances (a shared definitions snapshot) is encoded once. A pure function's memo,
    # so the value stays immutable in all that can be observed.
    _encoded: tuple[str, int] | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        for name, value in (("id", self.id), ("re", self.re)):
            if value is not None and not _ID.fullmatch(value):
                raise ProtocolError("bad_envelope", f"{name} must be 1 to 64 of A-Z a-z 0-9 ._:-")
        kind = message_type(self.type)
        if kind.needs_re and self.re is None:
            raise ProtocolError("bad_envelope", f"{self.type} must answer a message (re)")
        check_body(kind, self.body)
        object.__setattr__(self, "body", _freeze(self.body))

    @classmethod
    def new(cls, type: str, body: Mapping[str, JsonValue], *, re: str | None = None) -> Envelope:
        """A message with a fresh random id."""
        return cls(id=new_message_id(), type=type, body=body, re=re)

    def reply(self, type: str, body: Mapping[str, JsonValue]) -> Envelope:
        """A message with a fresh id that answers this one."""
        return Envelope.new(type, body, re=self.id)


def new_message_id() -> str:
    """A fresh random message id: 12 base64url characters (72 bits, enough per connection)."""
    return secrets.token_urlsafe(9)


def encode(envelope: Envelope, *, max_bytes: int = MAX_MESSAGE_BYTES) -> str:
    """`envelope` as compact JSON; `ProtocolError("too_large")` if the peer would refuse it."""
    encoded = envelope._encoded
    if encoded is None:
        frame: dict[str, object] = {"id": envelope.id, "type": envelope.type}
        if envelope.re is not None:
            frame["re"] = envelope.re
        frame["body"] = envelope.body
        text = json.dumps(
            frame, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_thaw
        )
        encoded = (text, len(text.encode("utf-8")))
        object.__setattr__(envelope, "_encoded", encoded)
    if encoded[1] > max_bytes:
        raise ProtocolError("too_large", f"{envelope.type} is over {max_bytes} bytes")
    return encoded[0]


def decode(
    data: str | bytes, *, max_bytes: int = MAX_MESSAGE_BYTES, sent_by: Sender | None = None
) -> Envelope:
    """The envelope in one frame, checked; `ProtocolError` for anything malformed.

    Pass `sent_by` (who is on the other end) to also refuse the types only this side sends.
    """
    # A character is at least one byte: the length alone refuses a huge str before encoding it.
    if len(data) > max_bytes:
        raise ProtocolError("too_large", f"the message is over {max_bytes} bytes")
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
    except UnicodeError as error:  # a str with lone surrogates
        raise ProtocolError("bad_json", "the message is not UTF-8") from error
    if len(raw) > max_bytes:
        raise ProtocolError("too_large", f"the message is over {max_bytes} bytes")
    parsed = _parse(raw)
    try:
        envelope = _envelope_of(parsed)
        message_type(envelope.type, sent_by=sent_by)
    except ProtocolError as error:
        error.re = _answerable_id(parsed)
        raise
    return envelope


def _answerable_id(parsed: object) -> str | None:
    """The frame's `id` if it is a well-formed one (an `error` then answers it), else None."""
    message_id = parsed.get("id") if isinstance(parsed, dict) else None
    return message_id if isinstance(message_id, str) and _ID.fullmatch(message_id) else None


def _parse(raw: bytes) -> object:
    try:
        # Decode first: json.loads on bytes would also guess UTF-16 and UTF-32.
        text = raw.decode("utf-8")
    except UnicodeError as error:
        raise ProtocolError("bad_json", "the message is not UTF-8") from error
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except _DuplicateKey as error:
        raise ProtocolError("bad_json", "the message repeats a key in an object") from error
    except (ValueError, RecursionError) as error:
        raise ProtocolError("bad_json", "the message is not valid JSON") from error


def _envelope_of(parsed: object) -> Envelope:
    if not isinstance(parsed, dict):
        raise ProtocolError("bad_envelope", "the message is not a JSON object")
    if not _ENVELOPE_KEYS.issuperset(parsed):
        raise ProtocolError("bad_envelope", "the message has keys other than id, type, re, body")
    if not {"id", "type", "body"}.issubset(parsed):
        raise ProtocolError("bad_envelope", "the message needs id, type and body")
    message_id, kind, body, re = parsed["id"], parsed["type"], parsed["body"], parsed.get("re")
    if not isinstance(message_id, str) or not isinstance(kind, str):
        raise ProtocolError("bad_envelope", "id and type must be strings")
    if "re" in parsed and not isinstance(re, str):
        raise ProtocolError("bad_envelope", "re must be a string when present")
    if not isinstance(body, dict):
        raise ProtocolError("bad_envelope", "body must be a JSON object")
    return Envelope(id=message_id, type=kind, body=body, re=re)


class _DuplicateKey(ValueError):
    """An object in the frame repeats a key (parsers disagree on which one wins)."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKey
    return result


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _freeze(value: object) -> JsonValue:
    """`value` with every object made a read-only mapping and every array a tuple."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_freeze(item) for item in value)
    return cast(JsonValue, value)  # a scalar: str, int, float, bool or None


def _thaw(value: object) -> object:
    """For `json.dumps`: a frozen mapping is written as the object it stands for."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
