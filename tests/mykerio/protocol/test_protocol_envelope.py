"""Tests of mykerio/protocol/envelope.py: framing, round trips and every malformed frame."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from mykerio.protocol.envelope import (
    MAX_MESSAGE_BYTES,
    Envelope,
    JsonValue,
    decode,
    encode,
    new_message_id,
)
from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.identity import b64url

NONCE = b64url(bytes(range(32)))
HELLO_BODY: dict[str, JsonValue] = {
    "versions": [1],
    "nonce": NONCE,
    "product": "control",
    "version": "9.4.0",
}


def frame(**overrides: object) -> str:
    """A hello frame as JSON text, with top-level keys replaced or (when None) left out."""
    fields: dict[str, object] = {"id": "m1", "type": "hello", "body": HELLO_BODY}
    fields.update(overrides)
    present = {key: value for key, value in fields.items() if value is not None}
    return json.dumps(present, ensure_ascii=False)


def refused_code(data: str | bytes, **kwargs: object) -> str:
    """The ProtocolError code decode() raises for `data`."""
    with pytest.raises(ProtocolError) as caught:
        decode(data, **kwargs)  # type: ignore[arg-type]
    return caught.value.code


def test_an_envelope_survives_a_round_trip() -> None:
    """decode(encode(e)) equals e, with and without `re`."""
    hello = Envelope.new("hello", HELLO_BODY)
    assert decode(encode(hello)) == hello
    pong = Envelope("p1", "pong", {}, re="ping-7")
    assert decode(encode(pong)) == pong
    assert decode(encode(pong).encode("utf-8")) == pong


def test_encoding_is_compact_json_and_leaves_out_an_absent_re() -> None:
    """encode() writes no spaces and omits `re` when the envelope answers nothing."""
    text = encode(Envelope("m1", "ping", {}))
    assert text == '{"id":"m1","type":"ping","body":{}}'
    assert encode(Envelope("m2", "pong", {}, re="m1")) == (
        '{"id":"m2","type":"pong","re":"m1","body":{}}'
    )


def test_non_ascii_text_is_written_as_utf8() -> None:
    """A name with accents travels as UTF-8 characters, not escapes, and comes back equal."""
    rename = Envelope("m1", "rename", {"name": "Brno \u2013 pobočka"})
    assert "pobočka" in encode(rename)
    assert decode(encode(rename).encode("utf-8")).body["name"] == "Brno \u2013 pobočka"


def test_bodies_are_frozen() -> None:
    """An envelope's body cannot be changed, so it may cross an actor boundary."""
    hello = Envelope("m1", "hello", {**HELLO_BODY, "versions": [1, 2]})
    assert isinstance(hello.body, Mapping)
    assert hello.body["versions"] == (1, 2)
    with pytest.raises(TypeError):
        hello.body["product"] = "connect"  # type: ignore[index]


def test_a_reply_answers_the_message() -> None:
    """reply() makes a new id and points `re` at the original."""
    ping = Envelope.new("ping", {})
    pong = ping.reply("pong", {})
    assert pong.re == ping.id
    assert pong.id != ping.id


def test_message_ids_are_fresh() -> None:
    """new_message_id() never repeats in a thousand draws and fits the id rule."""
    ids = {new_message_id() for _ in range(1000)}
    assert len(ids) == 1000
    Envelope(next(iter(ids)), "ping", {})


def test_a_frame_over_the_limit_is_too_large() -> None:
    """A frame longer than max_bytes is refused before it is parsed, as str or bytes."""
    padded = frame(body={**HELLO_BODY, "name": "x" * 100})
    assert refused_code(padded, max_bytes=len(padded) - 1) == "too_large"
    assert refused_code(padded.encode(), max_bytes=len(padded) - 1) == "too_large"
    assert decode(padded, max_bytes=len(padded)).type == "hello"
    assert refused_code("x" * (MAX_MESSAGE_BYTES + 1)) == "too_large"


def test_the_limit_counts_utf8_bytes_not_characters() -> None:
    """A str whose characters fit but whose UTF-8 bytes do not is too large."""
    text = frame(body={**HELLO_BODY, "name": "é" * 50})
    assert refused_code(text, max_bytes=len(text) + 10) == "too_large"


def test_encode_refuses_what_the_peer_would_refuse() -> None:
    """encode() raises too_large for an envelope over max_bytes."""
    with pytest.raises(ProtocolError) as caught:
        encode(Envelope("m1", "rename", {"name": "x" * 100}), max_bytes=50)
    assert caught.value.code == "too_large"


def test_an_envelope_sent_to_many_is_encoded_once_and_still_checked_against_each_limit() -> None:
    """The second encoding of one envelope is the first one's text (not a new dump), it still
    decodes to the same message, and a smaller peer limit still refuses it (UTF-8 bytes)."""
    envelope = Envelope("m1", "rename", {"name": "é" * 40})
    first = encode(envelope)
    assert encode(envelope) is first
    assert decode(first) == envelope
    with pytest.raises(ProtocolError) as caught:
        encode(envelope, max_bytes=len(first) + 10)  # enough characters, too few bytes
    assert caught.value.code == "too_large"


@pytest.mark.parametrize(
    "data",
    [
        "",
        "{",
        "not json",
        b"\xff\xfe{}",
        '{"id":"m1","type":"ping","body":{}}'.encode("utf-16"),
        '{"id":"m1","type":"ping","body":{},"id":"m2"}',
        '{"id":"m1","type":"ping","body":{"a":1,"a":2}}',
        '{"id":"m1","type":"ping","body":{"x":NaN}}',
        '{"id":"m1","type":"ping","body":{"x":Infinity}}',
        "[" * 100_000 + "]" * 100_000,
        "\ud800",
    ],
    ids=[
        "empty",
        "truncated",
        "text",
        "not-utf8",
        "utf16",
        "duplicate-envelope-key",
        "duplicate-body-key",
        "nan",
        "infinity",
        "nested-too-deep",
        "lone-surrogate",
    ],
)
def test_frames_that_are_not_json_are_bad_json(data: str | bytes) -> None:
    """Anything but one UTF-8 JSON text without duplicate keys or NaN is bad_json."""
    assert refused_code(data) == "bad_json"


@pytest.mark.parametrize(
    "data",
    [
        "[]",
        '"hello"',
        "null",
        frame(id=None),
        frame(type=None),
        frame(body=None),
        frame(extra=1),
        frame(id=7),
        frame(id=""),
        frame(id="has space"),
        frame(id="x" * 65),
        frame(type=["hello"]),
        frame(re=5),
        frame(re=""),
        '{"id":"m1","type":"hello","re":null,"body":{}}',
        frame(body=[]),
        frame(body="x"),
        frame(type="pong", body={}),
    ],
    ids=[
        "array",
        "string",
        "null",
        "no-id",
        "no-type",
        "no-body",
        "extra-key",
        "numeric-id",
        "empty-id",
        "id-with-space",
        "long-id",
        "array-type",
        "numeric-re",
        "empty-re",
        "null-re",
        "array-body",
        "string-body",
        "pong-without-re",
    ],
)
def test_frames_that_are_not_envelopes_are_bad_envelope(data: str) -> None:
    """JSON that is not {id, type, re?, body} with the right types is bad_envelope."""
    assert refused_code(data) == "bad_envelope"


@pytest.mark.parametrize("kind", ["launch_missiles", "backup_chunk", "tunnel_frame", "HELLO", ""])
def test_unknown_and_reserved_types_are_unknown_type(kind: str) -> None:
    """A type that is not in version 1, including a reserved later one, is unknown_type."""
    assert refused_code(frame(type=kind, body={})) == "unknown_type"


def test_a_type_from_the_wrong_side_is_unknown_type() -> None:
    """With sent_by, a hub refuses welcome from an appliance and an appliance refuses hello."""
    welcome = encode(
        Envelope("m1", "welcome", {"appliance_id": "a1", "name": "Office", "hub_key": NONCE})
    )
    assert decode(welcome, sent_by="hub").type == "welcome"
    assert refused_code(welcome, sent_by="appliance") == "unknown_type"
    assert refused_code(frame(), sent_by="hub") == "unknown_type"
    error = encode(Envelope("m1", "error", {"code": "bad_body", "message": "no"}))
    assert decode(error, sent_by="hub") == decode(error, sent_by="appliance")


def test_a_body_that_breaks_its_schema_is_bad_body() -> None:
    """A hello without its nonce is bad_body, and the message names the field."""
    body = {key: value for key, value in HELLO_BODY.items() if key != "nonce"}
    with pytest.raises(ProtocolError) as caught:
        decode(frame(body=body))
    assert caught.value.code == "bad_body"
    assert "hello.nonce" in caught.value.message


def test_constructing_a_malformed_envelope_fails_too() -> None:
    """Envelope() checks like decode(), so nobody can send what the peer would refuse."""
    with pytest.raises(ProtocolError) as caught:
        Envelope("m1", "rename", {})
    assert caught.value.code == "bad_body"
    with pytest.raises(ProtocolError) as caught:
        Envelope("bad id", "ping", {})
    assert caught.value.code == "bad_envelope"
