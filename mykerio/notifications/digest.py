"""The one email a person gets per batching window: every online/offline change of the
appliances of their organizations, grouped by organization, in the order they happened."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from html import escape

from mykerio.mail.message import Email
from mykerio.mail.templates import notification_email

OFFLINE = "offline"
ONLINE = "online"
NOTIFICATION = "notification"


@dataclasses.dataclass(frozen=True, slots=True)
class DigestLine:
    """One change: `appliance` of `organization` went `change` at `at`; `held_back` offline
    episodes of it were not emailed before (the flap floor)."""

    organization: str
    appliance: str
    change: str
    at: datetime
    held_back: int = 0
    detail: str = ""  # a notification's words


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def describe(line: DigestLine) -> str:
    """One change in words."""
    if line.change == NOTIFICATION:
        return f"{line.appliance}: {line.detail} (at {_when(line.at)})"
    if line.change == ONLINE:
        return f"{line.appliance}: back online at {_when(line.at)}"
    text = f"{line.appliance}: offline since {_when(line.at)}"
    if line.held_back:
        times = "once" if line.held_back == 1 else f"{line.held_back} times"
        text += f" (it also went offline {times} since the last email about it)"
    return text


def subject(lines: Sequence[DigestLine]) -> str:
    """`Brno gateway is offline`, or a count for several changes."""
    if len(lines) == 1:
        line = lines[0]
        if line.change == NOTIFICATION:
            return f"{line.appliance}: {line.detail.partition(':')[0]}"
        state = "back online" if line.change == ONLINE else "offline"
        return f"{line.appliance} is {state}"
    offline = sum(1 for line in lines if line.change == OFFLINE)
    online = sum(1 for line in lines if line.change == ONLINE)
    notices = len(lines) - offline - online
    parts = []
    if offline:
        parts.append(f"{offline} went offline")
    if online:
        parts.append(f"{online} came back online")
    if notices:
        parts.append(f"{notices} new notification{'s' if notices > 1 else ''}")
    return f"MyKerio appliances: {', '.join(parts)}"


def status_digest(
    to: str, full_name: str, lines: Sequence[DigestLine], dashboard_url: str
) -> Email:
    """The email listing `lines` (at least one), with a link to the dashboard."""
    groups: dict[str, list[DigestLine]] = {}
    for line in sorted(lines, key=lambda one: one.at):
        groups.setdefault(line.organization, []).append(line)
    text = [f"Hello {full_name},", "", "the status of appliances in MyKerio changed:", ""]
    html = [f"<p>Hello {escape(full_name)},</p><p>The status of appliances in MyKerio changed:</p>"]
    for organization, members in groups.items():
        text.append(organization)
        text.extend(f"- {describe(line)}" for line in members)
        text.append("")
        html.append(f"<p><strong>{escape(organization)}</strong></p><ul>")
        html.extend(f"<li>{escape(describe(line))}</li>" for line in members)
        html.append("</ul>")
    return notification_email(to, subject(lines), "\n".join(text), "".join(html), dashboard_url)
