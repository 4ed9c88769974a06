"""Events of the notification relay, published on the bus (`mykerio.bus`).

Plain values only. The mailer publishes `RelayedMailRefused` when the SMTP server refuses a
relayed email for good (5xx); the relay actor blacklists its recipient.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RelayedMailRefused:
    """A relayed email (`origin`: its sender) was refused permanently at delivery."""

    message_id: str
    recipient: str
    origin: str
    error: str
