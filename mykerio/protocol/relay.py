"""The messages of the `relay` feature (protocol v2; docs/protocol.md, section 9.9).

`relay_email` (appliance → hub): one email for up to `MAX_RECIPIENTS` recipients in one
message (so within the 256 KiB message limit; each body at most `BODY_CHARS`; an appliance's
alerts and reports are a few KB). The hub answers each at once with `relay_result` (`re` = the
email): per recipient accepted, or refused with the exact text of guide 5.1, which the
appliance writes to its debug log, and its quota in the current window.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence

from mykerio.protocol.text import has_control, text_problem

FEATURE = "relay"
MESSAGES = frozenset({"relay_email"})
MAX_RECIPIENTS = 50
ADDRESS_CHARS = 254
SUBJECT_CHARS = 998
BODY_CHARS = 96 * 1024
RESULT_MESSAGE_CHARS = 500
MAX_ATTACHMENTS = 5
ATTACHMENT_NAME_CHARS = 100
ATTACHMENTS_BYTES = 64 * 1024  # all of one email's attachments together, decoded
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]{0,48}/[a-z0-9][a-z0-9.+-]{0,48}")
_BODY_CONTROLS_ALLOWED = frozenset("\n\r\t")


def recipients_problem(value: object) -> str | None:
    """What is wrong with `to` (1 to 50 strings of at most 254 characters), or None.

    Each address is checked by the relay, which refuses a malformed one with the guide's text;
    here only its shape (a string without control characters).
    """
    if isinstance(value, str) or not isinstance(value, Sequence):
        return f"must be a list of 1 to {MAX_RECIPIENTS} addresses"
    if not 1 <= len(value) <= MAX_RECIPIENTS:
        return f"must be a list of 1 to {MAX_RECIPIENTS} addresses"
    for item in value:
        if not isinstance(item, str) or text_problem(item, ADDRESS_CHARS) is not None:
            return f"must hold strings of 1 to {ADDRESS_CHARS} characters"
    return None


def body_problem(value: object) -> str | None:
    """What is wrong with a text or HTML body (≤ 96 Ki characters; line breaks and tabs
    allowed, other control characters not), or None."""
    if not isinstance(value, str) or len(value) > BODY_CHARS:
        return f"must be a string of at most {BODY_CHARS} characters"
    if has_control("".join(c for c in value if c not in _BODY_CONTROLS_ALLOWED)):
        return "must not contain control characters other than line breaks and tabs"
    return None


def results_problem(value: object) -> str | None:
    """What is wrong with `relay_result.results`, or None."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        return "must be a list of results"
    if len(value) > MAX_RECIPIENTS:
        return f"must hold at most {MAX_RECIPIENTS} results"
    for item in value:
        if not isinstance(item, Mapping) or not {"address", "accepted"} <= set(item):
            return "must hold objects of address, accepted and message"
        if set(item) - {"address", "accepted", "message"}:
            return "must hold objects of address, accepted and message"
        if not isinstance(item["address"], str) or type(item["accepted"]) is not bool:
            return "address must be a string and accepted a boolean"
        message = item.get("message", "")
        if not isinstance(message, str) or len(message) > RESULT_MESSAGE_CHARS:
            return f"message must be a string of at most {RESULT_MESSAGE_CHARS} characters"
    return None


def quota_problem(value: object) -> str | None:
    """What is wrong with `relay_result.quota` ({used, limit, resets_at?}), or None."""
    if not isinstance(value, Mapping) or not {"used", "limit"} <= set(value):
        return "must be an object of used, limit and resets_at"
    if set(value) - {"used", "limit", "resets_at"}:
        return "must be an object of used, limit and resets_at"
    if any(type(value[k]) is not int or value[k] < 0 for k in ("used", "limit")):
        return "used and limit must be whole numbers from 0"
    resets_at = value.get("resets_at", "")
    if not isinstance(resets_at, str) or len(resets_at) > 40:
        return "resets_at must be a time"
    return None


def attachments_problem(value: object) -> str | None:
    """What is wrong with `attachments` (at most 5 of `{name, content_type, data}`, `data`
    base64, together at most 64 KiB decoded), or None."""
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) > MAX_ATTACHMENTS:
        return f"must be a list of at most {MAX_ATTACHMENTS} attachments"
    total = 0
    for item in value:
        if not isinstance(item, Mapping) or set(item) != {"name", "content_type", "data"}:
            return "must hold objects of name, content_type and data"
        name, content_type, data = item["name"], item["content_type"], item["data"]
        if (
            not isinstance(name, str)
            or text_problem(name, ATTACHMENT_NAME_CHARS) is not None
            or any(c in name for c in '/\\"')
        ):
            return f"name must be a file name of 1 to {ATTACHMENT_NAME_CHARS} characters"
        if not isinstance(content_type, str) or not _CONTENT_TYPE.fullmatch(content_type):
            return "content_type must be a media type like text/csv"
        if not isinstance(data, str):
            return "data must be base64"
        try:
            total += len(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            return "data must be base64"
        if total > ATTACHMENTS_BYTES:
            return f"attachments must be at most {ATTACHMENTS_BYTES} bytes together"
    return None
