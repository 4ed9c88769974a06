"""The bodies webhooks post: one per batching window, listing every change (as an email does).

`json` is MyKerio's own document; `slack` is a Slack incoming webhook's `{"text": …}`;
`teams` is a Microsoft Teams (Workflows) incoming webhook's message with one Adaptive Card.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from mykerio.notifications.digest import NOTIFICATION, OFFLINE, DigestLine, describe, subject

FORMATS = ("json", "slack", "teams")
EVENTS = ("status", "notification")  # online/offline changes; appliance notifications
TEST_TEXT = "This is a test message from MyKerio: the webhook works."


def event_of(line: DigestLine) -> str:
    """Which webhook event a change is."""
    return "notification" if line.change == NOTIFICATION else "status"


def _kind(line: DigestLine) -> str:
    if line.change == NOTIFICATION:
        return "appliance.notification"
    return "appliance.offline" if line.change == OFFLINE else "appliance.online"


def body(body_format: str, lines: Sequence[DigestLine], at: datetime, dashboard_url: str) -> bytes:
    """The delivery's body for these changes (none: a test message)."""
    if body_format == "slack":
        text = _text(lines, dashboard_url)
        return json.dumps({"text": text}).encode()
    if body_format == "teams":
        text = _text(lines, dashboard_url)
        card = {
            "type": "AdaptiveCard",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": part, "wrap": True} for part in text.split("\n")
            ],
        }
        message = {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
            ],
        }
        return json.dumps(message).encode()
    document = {
        "type": "changes" if lines else "webhook.test",
        "timestamp": at.isoformat(),
        "dashboard": dashboard_url,
        "changes": [
            {
                "type": _kind(line),
                "organization": line.organization,
                "appliance": line.appliance,
                "at": line.at.isoformat(),
                "held_back": line.held_back,
                "detail": line.detail,
            }
            for line in lines
        ],
    }
    if not lines:
        document["message"] = TEST_TEXT
    return json.dumps(document).encode()


def _text(lines: Sequence[DigestLine], dashboard_url: str) -> str:
    if not lines:
        return TEST_TEXT
    rows = [f"*{subject(lines)}*"]
    rows.extend(f"• {line.organization}: {describe(line)}" for line in lines)
    rows.append(dashboard_url)
    return "\n".join(rows)
