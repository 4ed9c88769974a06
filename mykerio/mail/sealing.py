"""Sealing of email bodies at rest: what the outbox stores instead of the text and HTML.

A message's bodies carry live links (confirmation, password reset, invitation), so the outbox
never stores them readable: both bodies are sealed together with AES-256-GCM under a key derived
(HKDF) from the data directory's secret key, bound to the message id, and stored in the `text`
column as `sealed:v1:<base64url>` (the `html` column stays empty). Once a message is delivered
or given up, the store deletes the sealed body and keeps only the metadata.
"""

from __future__ import annotations

import base64
import json

from mykerio.mail.message import Attachment
from mykerio.security.encryption import SecretBox, derive_key

SEALED_PREFIX = "sealed:v1:"
MAIL_BODY_INFO = "mykerio mail bodies v1"


def mail_box(master: bytes) -> SecretBox:
    """The box that seals mail bodies: its own HKDF key, apart from TOTP secrets and phones."""
    return SecretBox(derive_key(master, info=MAIL_BODY_INFO))


def _purpose(message_id: str) -> str:
    return f"mail body {message_id}"


def seal_bodies(
    box: SecretBox,
    message_id: str,
    *,
    text: str,
    html: str,
    attachments: tuple[Attachment, ...] = (),
) -> str:
    """The stored form of a message's two bodies and its attachments (sealed, bound to
    `message_id`)."""
    bodies: dict[str, object] = {"text": text, "html": html}
    if attachments:
        bodies["attachments"] = [
            {
                "name": a.name,
                "content_type": a.content_type,
                "data": base64.b64encode(a.data).decode("ascii"),
            }
            for a in attachments
        ]
    plain = json.dumps(bodies, ensure_ascii=False).encode("utf-8")
    sealed = box.seal(plain, purpose=_purpose(message_id))
    return SEALED_PREFIX + base64.urlsafe_b64encode(sealed).decode("ascii")


def is_sealed(stored: str) -> bool:
    """Whether `stored` is a sealed body (not a body stored in the clear by an older hub)."""
    return stored.startswith(SEALED_PREFIX)


def open_bodies(box: SecretBox, message_id: str, stored: str) -> tuple[str, str]:
    """`(text, html)` of a sealed body; `TamperedData` if it fails authentication."""
    text, html, _attachments = open_message(box, message_id, stored)
    return text, html


def open_message(
    box: SecretBox, message_id: str, stored: str
) -> tuple[str, str, tuple[Attachment, ...]]:
    """`(text, html, attachments)` of a sealed body; `TamperedData` if it fails
    authentication."""
    sealed = base64.urlsafe_b64decode(stored[len(SEALED_PREFIX) :].encode("ascii"))
    bodies = json.loads(box.open(sealed, purpose=_purpose(message_id)))
    attachments = tuple(
        Attachment(str(a["name"]), str(a["content_type"]), base64.b64decode(a["data"]))
        for a in bodies.get("attachments", ())
    )
    return str(bodies["text"]), str(bodies["html"]), attachments
