"""The `tunnel_http` wire format: request heads in the meta, response heads on the stream,
header allow-lists, smuggling and size limits, and the hub's signed assertion."""

from __future__ import annotations

import pytest

from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.identity import new_identity, public_key_of
from mykerio.protocol.tunnel import (
    MAX_HEAD_BYTES,
    REQUEST_HEADERS,
    AssertionRefused,
    Identity,
    ResponseHeadReader,
    WsMessageReader,
    encode_response_head,
    encode_ws_message,
    forwarded_headers,
    read_request,
    request_meta,
    sign_assertion,
    verify_assertion,
)

ANA = Identity("u1", "ana@acme.example", "Ana Novak", "Acme")


def test_a_request_head_round_trips_through_the_meta() -> None:
    """What the hub puts in the meta is what the appliance reads."""
    meta = request_meta("POST", "/admin/api/jsonrpc/", (("content-type", "application/json"),))
    request = read_request(meta)
    assert (request.method, request.path) == ("POST", "/admin/api/jsonrpc/")
    assert request.header("content-type") == "application/json"


def test_the_hub_forwards_only_allow_listed_headers() -> None:
    """Cookies, Authorization, Host, Origin and hop-by-hop headers never leave the hub."""
    browser = [
        ("Cookie", "__Host-mk_session=secret"),
        ("Authorization", "Bearer x"),
        ("Host", "localhost"),
        ("Origin", "https://localhost:8443"),
        ("Connection", "keep-alive"),
        ("Transfer-Encoding", "chunked"),
        ("Accept", "text/html"),
    ]
    assert forwarded_headers(browser, REQUEST_HEADERS) == (("accept", "text/html"),)


@pytest.mark.parametrize(
    "headers",
    [
        [["content-length", "5"], ["content-length", "6"]],  # two lengths: smuggling
        [["content-length", "5, 6"]],
        [["content-length", "-1"]],
        [["transfer-encoding", "chunked"], ["content-length", "5"]],
        [["connection", "close"]],
        [["authorization", "Basic eA=="]],
        [["accept", "a\r\nX-Evil: 1"]],
        [["Accept", "upper-case names are not what the hub sends"]],
    ],
)
def test_the_appliance_refuses_smuggling_and_forbidden_headers(headers: list[list[str]]) -> None:
    """A head with two lengths, Transfer-Encoding, a hop-by-hop or unlisted header, or a
    header split across lines is refused."""
    with pytest.raises(ProtocolError):
        read_request({"method": "POST", "path": "/admin/", "headers": headers})


def test_an_oversized_request_head_is_refused_both_ways() -> None:
    """Over 16 KiB of head is refused by the hub when building and by the appliance reading."""
    big = (("accept", "a" * 8000), ("accept-language", "b" * 8000), ("pragma", "c" * 8000))
    with pytest.raises(ProtocolError):
        request_meta("GET", "/admin/", big)
    meta = {"method": "GET", "path": "/admin/", "headers": [list(pair) for pair in big]}
    with pytest.raises(ProtocolError):
        read_request(meta)


@pytest.mark.parametrize("path", ["admin", "//evil.example/", "/a b", "/a\nb"])
def test_bad_paths_are_refused(path: str) -> None:
    """A path must be origin-relative and one line."""
    with pytest.raises(ProtocolError):
        read_request({"method": "GET", "path": path, "headers": []})


def test_a_response_head_is_read_whatever_the_chunking() -> None:
    """The head may arrive a byte at a time; the body bytes after it are handed back."""
    data = encode_response_head(200, (("content-type", "text/html"),)) + b"<html>"
    reader = ResponseHeadReader()
    found = None
    for index in range(len(data)):
        found = reader.feed(data[index : index + 1])
        if found is not None:
            break
    assert found is not None
    head, rest = found
    assert head.status == 200
    assert head.headers == (("content-type", "text/html"),)
    assert rest + data[index + 1 :] == b"<html>"


def test_a_hostile_response_head_is_refused() -> None:
    """A head over the limit, with a hop-by-hop header, or a made-up status is refused."""
    with pytest.raises(ProtocolError):
        ResponseHeadReader().feed((MAX_HEAD_BYTES + 1).to_bytes(4, "big"))
    for head in (
        b'{"status":200,"headers":[["transfer-encoding","chunked"]]}',
        b'{"status":200,"headers":[["x-frame-options","ALLOWALL"]]}',
        b'{"status":99,"headers":[]}',
    ):
        with pytest.raises(ProtocolError):
            ResponseHeadReader().feed(len(head).to_bytes(4, "big") + head)


def test_a_signed_assertion_verifies_once() -> None:
    """The pinned hub key's assertion verifies and names the user; its replay is refused."""
    private_pem, _ = new_identity()
    hub_key = public_key_of(private_pem)
    assertion = sign_assertion(private_pem, ANA, 1000.0, "app1")
    seen: dict[str, int] = {}
    assert verify_assertion(hub_key, assertion, "app1", 1001.0, seen) == ANA
    with pytest.raises(AssertionRefused, match="used already"):
        verify_assertion(hub_key, assertion, "app1", 1002.0, seen)


def test_forged_expired_or_misdirected_assertions_are_refused() -> None:
    """Another key's assertion, a changed claim, an expired one or one for another appliance
    is refused."""
    private_pem, _ = new_identity()
    other_pem, _ = new_identity()
    hub_key = public_key_of(private_pem)
    forged = sign_assertion(other_pem, ANA, 1000.0, "app1")
    changed = {**sign_assertion(private_pem, ANA, 1000.0, "app1"), "name": "Mallory"}
    cases = [
        (forged, "app1", 1001.0),
        (changed, "app1", 1001.0),
        (sign_assertion(private_pem, ANA, 1000.0, "app1"), "app1", 1100.0),
        (sign_assertion(private_pem, ANA, 1000.0, "app1"), "app2", 1001.0),
    ]
    for assertion, appliance_id, now in cases:
        with pytest.raises(AssertionRefused):
            verify_assertion(hub_key, assertion, appliance_id, now, {})


def test_websocket_messages_are_framed_whatever_the_chunking() -> None:
    """Text and binary messages come out of a byte-at-a-time feed as they went in; a frame of
    an unknown type is refused."""
    data = encode_ws_message("héllo") + encode_ws_message(b"\x00\xff")
    reader = WsMessageReader()
    messages: list[str | bytes] = []
    for index in range(len(data)):
        messages += reader.feed(data[index : index + 1])
    assert messages == ["héllo", b"\x00\xff"]
    with pytest.raises(ProtocolError):
        WsMessageReader().feed(b"\x07\x00\x00\x00\x00")
