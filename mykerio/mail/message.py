"""`Email`, the value the mailer sends, and its conversion to a MIME message."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


@dataclasses.dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to an email (relayed mail only: an appliance's report)."""

    name: str
    content_type: str  # "type/subtype"
    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Email:
    """One email to one recipient, with a plain-text and an HTML body."""

    to: str
    subject: str
    text: str
    html: str
    # Relayed mail (`mykerio.relay`): its sender (`key:<key id>`), its own `From` (empty: the
    # hub's) and `Reply-To` (empty: none). Relayed mail leaves with a signed return path.
    origin: str = ""
    from_header: str = ""
    reply_to: str = ""
    attachments: tuple[Attachment, ...] = ()


def to_mime(email: Email, *, sender: str, message_id: str, at: datetime) -> EmailMessage:
    """Build the multipart/alternative message (text first, HTML preferred by readers)."""
    mime = EmailMessage()
    mime["From"] = email.from_header or sender
    if email.reply_to:
        mime["Reply-To"] = email.reply_to
    mime["To"] = email.to
    mime["Subject"] = email.subject
    mime["Date"] = format_datetime(at)
    mime["Message-ID"] = message_id or make_msgid(domain=_domain_of(sender))
    mime.set_content(email.text)
    if email.html or not email.origin:
        mime.add_alternative(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mime.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.name
        )
    return mime


def _domain_of(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    try:
        return Address(addr_spec=address).domain or "localhost"
    except (ValueError, IndexError):
        return "localhost"
