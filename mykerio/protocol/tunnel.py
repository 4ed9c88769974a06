"""The `tunnel` feature's wire format (docs/protocol.md, section 9.8): one `tunnel_http` stream
per browser request, its head in the `stream_open` meta, the response head first on the stream.

The hub opens the stream with the request's method, path and allow-listed headers in `meta`
(no extra round trip: the appliance may answer as soon as the open arrives), then streams the
request body and FIN. The appliance answers with a response head — 4 bytes of length, then a
JSON object `{"status", "headers"}` — then the body, then FIN. Both heads are bounded
(`MAX_HEAD_BYTES`), carry only allow-listed headers, and never a hop-by-hop one.

A unified login carries an `assertion` in the meta: the hub's Ed25519 signature, with the key
the appliance pinned at pairing, over who the user is, a nonce and an expiry. The appliance
checks it (`verify_assertion`) and refuses a forged, expired or replayed one.

Pure functions and values: no I/O, no framework.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.identity import b64url, from_b64url, new_nonce

KIND = "tunnel_http"
MAX_HEAD_BYTES = 16 * 1024
MAX_HEADERS = 64
MAX_PATH = 8 * 1024
ASSERTION_SECONDS = 60
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Request headers the hub forwards from a browser (lower case). Never the browser's cookies
# (the hub's own), Authorization, Host, Origin or any hop-by-hop header: the appliance gets its
# cookies from the hub's jar and knows the user from the assertion only.
REQUEST_HEADERS = frozenset(
    {
        "accept",
        "accept-language",
        "cache-control",
        "content-length",
        "content-type",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "pragma",
        "range",
        "x-requested-with",
        "x-token",  # Kerio's JSON-RPC session token header
    }
)
# The hub adds these itself (the jar's cookies, the browser's address for the appliance's log).
HUB_REQUEST_HEADERS = frozenset({"cookie", "x-mykerio-client"})
# Response headers the hub passes back to the browser; `set-cookie` goes to the hub's jar only.
RESPONSE_HEADERS = frozenset(
    {
        "accept-ranges",
        "cache-control",
        "content-disposition",
        "content-language",
        "content-length",
        "content-range",
        "content-security-policy",
        "content-type",
        "etag",
        "expires",
        "last-modified",
        "location",
        "pragma",
        "vary",
        "x-content-type-options",
        "set-cookie",
    }
)
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]{1,64}")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_CLAIMS = ("user_id", "email", "name", "organization", "nonce", "expires")
_DOMAIN = b"mykerio tunnel assertion v1\n"

Headers = tuple[tuple[str, str], ...]


class AssertionRefused(Exception):
    """An assertion the appliance will not sign anybody in with; the text says why."""


@dataclass(frozen=True, slots=True)
class TunnelRequest:
    """A request head as the appliance reads it from `meta`."""

    method: str
    path: str
    headers: Headers
    assertion: Mapping[str, object] | None = None

    def header(self, name: str) -> str | None:
        """The value of one header (the first), or None."""
        return next((value for key, value in self.headers if key == name), None)


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """A response head as the hub reads it from the stream."""

    status: int
    headers: Headers


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the hub says is using the tunnel (from a verified assertion)."""

    user_id: str
    email: str
    name: str
    organization: str


def check_headers(pairs: object, allowed: frozenset[str], what: str) -> Headers:
    """Header pairs as (lower-case name, value), refusing any not allowed, hop-by-hop, or
    malformed, and a request-smuggling Content-Length (`ProtocolError` `bad_body`)."""
    if not isinstance(pairs, Sequence) or isinstance(pairs, str) or len(pairs) > MAX_HEADERS:
        raise ProtocolError("bad_body", f"{what} headers must be a list of at most {MAX_HEADERS}")
    checked: list[tuple[str, str]] = []
    for pair in pairs:
        if (
            not isinstance(pair, Sequence)
            or isinstance(pair, str)
            or len(pair) != 2
            or not all(isinstance(part, str) for part in pair)
        ):
            raise ProtocolError("bad_body", f"{what} headers are [name, value] pairs")
        name, value = str(pair[0]), str(pair[1])
        if not _TOKEN.fullmatch(name):
            raise ProtocolError("bad_body", f"{what} header names are lower-case tokens")
        if name in HOP_BY_HOP or name not in allowed:
            raise ProtocolError("bad_body", f"{what} header {name} is not forwarded")
        if _BAD_VALUE.search(value) or len(value) > MAX_PATH:
            raise ProtocolError("bad_body", f"{what} header {name} has a bad value")
        checked.append((name, value))
    lengths = [value for name, value in checked if name == "content-length"]
    if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
        raise ProtocolError("bad_body", f"{what} has a bad Content-Length")
    return tuple(checked)


def forwarded_headers(pairs: Sequence[tuple[str, str]], allowed: frozenset[str]) -> Headers:
    """The allow-listed ones of a message's header pairs (names lower-cased), for sending."""
    return tuple(
        (name.lower(), value)
        for name, value in pairs
        if name.lower() in allowed and name.lower() not in HOP_BY_HOP
    )


def request_meta(
    method: str, path: str, headers: Headers, assertion: Mapping[str, object] | None = None
) -> dict[str, object]:
    """The `stream_open` meta of one request (`ProtocolError` when over the limits)."""
    meta: dict[str, object] = {
        "method": method,
        "path": path,
        "headers": [list(pair) for pair in headers],
    }
    if assertion is not None:
        meta["assertion"] = dict(assertion)
    if len(json.dumps(meta)) > MAX_HEAD_BYTES:
        raise ProtocolError("bad_body", f"the request head is over {MAX_HEAD_BYTES} bytes")
    return meta


def read_request(meta: Mapping[str, object]) -> TunnelRequest:
    """The request head of a `tunnel_http` stream's meta, checked (`ProtocolError`)."""
    if len(json.dumps(meta, default=_plain)) > MAX_HEAD_BYTES:
        raise ProtocolError("bad_body", f"the request head is over {MAX_HEAD_BYTES} bytes")
    if set(meta) - {"method", "path", "headers", "assertion"}:
        raise ProtocolError("bad_body", "the request head has an unknown field")
    method, path = meta.get("method"), meta.get("path")
    if method not in METHODS:
        raise ProtocolError("bad_body", "the request method is not one the tunnel carries")
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise ProtocolError("bad_body", "the request path must start with one /")
    if len(path) > MAX_PATH or _BAD_VALUE.search(path) or " " in path:
        raise ProtocolError("bad_body", "the request path is too long or has bad characters")
    headers = check_headers(
        meta.get("headers", []), REQUEST_HEADERS | HUB_REQUEST_HEADERS, "request"
    )
    assertion = meta.get("assertion")
    if assertion is not None and not isinstance(assertion, Mapping):
        raise ProtocolError("bad_body", "the assertion must be an object")
    return TunnelRequest(str(method), path, headers, assertion)


def encode_response_head(status: int, headers: Headers) -> bytes:
    """The first bytes of a response stream: length, then the head as JSON."""
    document = json.dumps(
        {"status": status, "headers": [list(pair) for pair in headers]}, separators=(",", ":")
    ).encode()
    if len(document) > MAX_HEAD_BYTES:
        raise ProtocolError("bad_body", f"the response head is over {MAX_HEAD_BYTES} bytes")
    return struct.pack(">I", len(document)) + document


class ResponseHeadReader:
    """Reads a response head from the first bytes of a stream, whatever their chunking."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> tuple[ResponseHead, bytes] | None:
        """The head and the body bytes after it, once the head is complete; else None."""
        self._buffer += data
        if len(self._buffer) < 4:
            return None
        (length,) = struct.unpack(">I", self._buffer[:4])
        if length > MAX_HEAD_BYTES:
            raise ProtocolError("bad_body", f"the response head is over {MAX_HEAD_BYTES} bytes")
        if len(self._buffer) < 4 + length:
            return None
        raw, rest = self._buffer[4 : 4 + length], self._buffer[4 + length :]
        self._buffer = b""
        try:
            document: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError("bad_body", "the response head is not JSON") from None
        if not isinstance(document, dict) or set(document) != {"status", "headers"}:
            raise ProtocolError("bad_body", "the response head is {status, headers}")
        status = document["status"]
        if type(status) is not int or not 200 <= status <= 599:
            raise ProtocolError("bad_body", "the response status is 200 to 599")
        headers = check_headers(document["headers"], RESPONSE_HEADERS, "response")
        return ResponseHead(status, headers), rest


def sign_assertion(
    hub_private_pem: bytes, identity: Identity, now: float, appliance_id: str
) -> dict[str, object]:
    """The hub's signed statement of who the user is, for one appliance, valid 60 s."""
    claims: dict[str, object] = {
        "user_id": identity.user_id,
        "email": identity.email,
        "name": identity.name,
        "organization": identity.organization,
        "nonce": b64url(new_nonce()),
        "expires": int(now) + ASSERTION_SECONDS,
    }
    key = serialization.load_pem_private_key(hub_private_pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    signature = key.sign(_transcript(claims, appliance_id))
    return {**claims, "signature": b64url(signature)}


def verify_assertion(
    hub_public_raw: bytes,
    assertion: Mapping[str, object],
    appliance_id: str,
    now: float,
    seen_nonces: MutableMapping[str, int],
) -> Identity:
    """The identity an assertion states, if the pinned hub key signed it for this appliance,
    it has not expired and its nonce is new; `AssertionRefused` otherwise."""
    if set(assertion) != {*_CLAIMS, "signature"}:
        raise AssertionRefused("the assertion's fields are not as signed")
    claims = {name: assertion[name] for name in _CLAIMS}
    if not all(isinstance(claims[name], str) for name in _CLAIMS[:5]):
        raise AssertionRefused("the assertion's claims are not text")
    expires = claims["expires"]
    if type(expires) is not int:
        raise AssertionRefused("the assertion has no expiry")
    try:
        signature = from_b64url(str(assertion["signature"]))
        Ed25519PublicKey.from_public_bytes(hub_public_raw).verify(
            signature, _transcript(claims, appliance_id)
        )
    except (InvalidSignature, ValueError):
        raise AssertionRefused("the assertion is not signed by this hub") from None
    if expires < now or expires > now + 2 * ASSERTION_SECONDS:
        raise AssertionRefused("the assertion has expired")
    for old in [seen for seen, until in seen_nonces.items() if until < now]:
        del seen_nonces[old]  # (expired assertions are refused by their expiry already)
    nonce = str(claims["nonce"])
    if nonce in seen_nonces:
        raise AssertionRefused("the assertion was used already")
    seen_nonces[nonce] = expires
    return Identity(
        str(claims["user_id"]),
        str(claims["email"]),
        str(claims["name"]),
        str(claims["organization"]),
    )


def _plain(value: object) -> object:
    # (A decoded envelope's objects are read-only mappings.)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(type(value).__name__)


def _transcript(claims: Mapping[str, object], appliance_id: str) -> bytes:
    body = json.dumps({**claims, "appliance_id": appliance_id}, sort_keys=True, default=_plain)
    return _DOMAIN + body.encode()


# WebSockets (`tunnel_ws`): after the open (the handshake's path and headers in `meta`, as for
# `tunnel_http`) each WebSocket message is one frame on the stream, both ways: 1 byte of type,
# 4 bytes of length (u32 big-endian), the payload. FIN (or a reset) closes the WebSocket.
WS_KIND = "tunnel_ws"
WS_TEXT = 1
WS_BINARY = 2
MAX_WS_MESSAGE = 1024 * 1024


def encode_ws_message(payload: str | bytes) -> bytes:
    """One WebSocket message as a `tunnel_ws` frame."""
    kind, data = (WS_TEXT, payload.encode()) if isinstance(payload, str) else (WS_BINARY, payload)
    if len(data) > MAX_WS_MESSAGE:
        raise ProtocolError(
            "too_large", f"a tunnelled WebSocket message is at most {MAX_WS_MESSAGE}"
        )
    return struct.pack(">BI", kind, len(data)) + data


class WsMessageReader:
    """WebSocket messages out of a `tunnel_ws` stream's bytes, whatever their chunking."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[str | bytes]:
        """The complete messages so far (`ProtocolError` for a bad or oversized frame)."""
        self._buffer += data
        messages: list[str | bytes] = []
        while len(self._buffer) >= 5:
            kind, length = struct.unpack(">BI", self._buffer[:5])
            if kind not in (WS_TEXT, WS_BINARY) or length > MAX_WS_MESSAGE:
                raise ProtocolError("bad_body", "not a tunnelled WebSocket frame")
            if len(self._buffer) < 5 + length:
                break
            payload, self._buffer = self._buffer[5 : 5 + length], self._buffer[5 + length :]
            if kind == WS_TEXT:
                try:
                    messages.append(payload.decode())
                except UnicodeDecodeError:
                    raise ProtocolError("bad_body", "a text message is not UTF-8") from None
            else:
                messages.append(payload)
        return messages
