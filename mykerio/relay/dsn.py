"""Reading delivery status notifications (RFC 3464) that come back to a relay return path.

A DSN is a `multipart/report; report-type=delivery-status` message whose `message/delivery-
status` part holds one block of fields per recipient. A recipient counts as bounced when its
`Action` is `failed` and its `Status` is permanent (5.x.x); delays (4.x.x, `delayed`) and
successes are not bounces.
"""

from __future__ import annotations

import dataclasses
import email.policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser

MAX_DSN_BYTES = 256 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class FailedRecipient:
    """One permanently failed recipient of a DSN: its address and the status and diagnostic."""

    address: str
    status: str
    diagnostic: str


def failed_recipients(raw: bytes) -> list[FailedRecipient]:
    """The permanently failed recipients a DSN reports ([] for anything that is not a DSN)."""
    if len(raw) > MAX_DSN_BYTES:
        return []
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    if message.get_content_type() != "multipart/report":
        return []
    if str(message.get_param("report-type", "")).lower() != "delivery-status":
        return []
    failed: list[FailedRecipient] = []
    for part in message.iter_parts() if isinstance(message, EmailMessage) else ():
        if part.get_content_type() == "message/delivery-status":
            failed.extend(_failed_in(part))
    return failed


def _blocks(part: Message) -> list[Message]:
    """The field blocks of a delivery-status part (the per-message one first)."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package parses the blocks as messages
        return [block for block in payload if isinstance(block, Message)]
    text = payload if isinstance(payload, str) else ""
    parser = HeaderParser()
    return [parser.parsestr(chunk.strip() + "\n") for chunk in text.split("\n\n") if chunk.strip()]


def _failed_in(part: Message) -> list[FailedRecipient]:
    failed = []
    for block in _blocks(part):
        recipient = str(block.get("Final-Recipient", "") or block.get("Original-Recipient", ""))
        if not recipient:
            continue
        address = recipient.split(";", 1)[-1].strip().strip("<>")
        action = str(block.get("Action", "")).strip().lower()
        status = str(block.get("Status", "")).strip()
        if action == "failed" and status.startswith("5"):
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())[:300]
            failed.append(FailedRecipient(address, status, diagnostic))
    return failed
