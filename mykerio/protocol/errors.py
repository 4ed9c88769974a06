"""What goes wrong on the appliance link: protocol error codes and WebSocket close codes.

A `ProtocolError` says why a frame or a handshake step was refused, with a stable `code`; the
side that detects it sends an `error` message (when the socket still takes one) and closes the
socket with `close_code_for(error)`. Messages never quote the offending value: a frame may carry
a pairing code or credentials, which must not reach the logs.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal

from mykerio.errors import DomainError

ProtocolErrorCode = Literal[
    "too_large",  # the frame is over the size limit
    "bad_json",  # not UTF-8 JSON, duplicate keys, NaN/Infinity, or nested too deep
    "bad_envelope",  # not {id, type, re?, body} with the right types
    "unknown_type",  # the type is unknown, reserved for later, or not sent by this side
    "bad_body",  # the body does not match its type's schema
    "unsupported_version",  # no protocol version in common
    "unexpected_message",  # a valid message that does not fit the connection's state
    "revoked_key",  # the appliance's key was removed from the hub
    "forged_proof",  # a handshake signature does not verify
    "replayed_nonce",  # a nonce seen before, within the replay window
    "weak_key",  # the proof's public key is of small order or not in canonical form
    "silent",  # (hub) nothing heard from the appliance for the silence limit
    "too_many_messages",  # (hub) the appliance sent messages faster than its budget
    "bad_frame",  # (v2) a binary frame with a bad header
]


class CloseCode(IntEnum):
    """WebSocket close codes of the appliance link (4000-4999 are ours, RFC 6455 §7.4.2)."""

    NORMAL = 1000  # orderly close, e.g. "Enable communication with MyKerio" turned off
    GOING_AWAY = 1001  # the hub is shutting down or the appliance restarting
    TOO_LARGE = 1009  # a frame over the message size limit
    PROTOCOL_ERROR = 4000  # malformed frame or a message that does not fit the state
    UNSUPPORTED_VERSION = 4001  # no protocol version in common
    SUPERSEDED = 4002  # a newer connection proved the same key; this one is closed
    REVOKED_KEY = 4003  # the key was removed from the hub; re-adding needs a new pairing
    FORGED_PROOF = 4004  # a handshake signature failed, or a nonce was replayed
    REFUSED = 4005  # the hub will not link this appliance as it is (e.g. Connect Multi-Server)
    TOO_SLOW = 4008  # handshake deadline missed, silent too long, or send queue overflowed
    REMOVED = 4009  # the appliance was removed (from the hub or from the appliance)
    TOO_MANY_MESSAGES = 4029  # the appliance sent more messages than its budget allows


_CLOSE_CODES: dict[str, CloseCode] = {
    "too_large": CloseCode.TOO_LARGE,
    "unsupported_version": CloseCode.UNSUPPORTED_VERSION,
    "revoked_key": CloseCode.REVOKED_KEY,
    "forged_proof": CloseCode.FORGED_PROOF,
    "replayed_nonce": CloseCode.FORGED_PROOF,
    "weak_key": CloseCode.FORGED_PROOF,
    "silent": CloseCode.TOO_SLOW,
    "too_many_messages": CloseCode.TOO_MANY_MESSAGES,
}


class ProtocolError(DomainError):
    """A frame or handshake step the other side got wrong; `code` is stable, `message` human."""

    status = 400

    def __init__(self, code: ProtocolErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        # The id of the offending message, when it had a well-formed one: the `error` answers it.
        self.re: str | None = None


def close_code_for(error: ProtocolError) -> CloseCode:
    """The close code that ends a connection after `error`."""
    return _CLOSE_CODES.get(error.code, CloseCode.PROTOCOL_ERROR)
