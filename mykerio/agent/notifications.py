"""The simulator's appliance notifications (feature `notifications`; docs/protocol.md 9.10).

Each status knob that is on is one notification (its id is the knob's name; type and severity
from `mykerio.protocol.notifications.KNOB_NOTICES`), and a failed backup is one more
(`backup_failed`). On every link they are raised again and closed with `notification_cleared`
`except`; flipping a knob raises or clears its notification at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mykerio.protocol.envelope import Envelope
from mykerio.protocol.notifications import FEATURE, Notice, knob_notices
from mykerio.protocol.status import Knobs

if TYPE_CHECKING:
    from mykerio.agent.session import Session

BACKUP_FAILED = "backup_failed"


class ApplianceNotifications:
    """A hook of the appliance's sessions (`mykerio.agent.session.SessionHook`)."""

    message_types: frozenset[str] = frozenset()  # (the hub sends nothing of this feature)

    def __init__(self, knobs: Callable[[], Knobs], now: Callable[[], datetime]) -> None:
        self._knobs = knobs
        self._now = now
        self._since: dict[str, datetime] = {}  # notice id → when it arose
        self._backup_failed: Notice | None = None
        self._session: Session | None = None

    def active(self) -> list[Notice]:
        """The notifications that hold now."""
        notices = []
        for notice in knob_notices(self._knobs(), self._now()):
            since = self._since.setdefault(notice.notice_id, notice.raised_at)
            notices.append(dataclasses.replace(notice, raised_at=since))
        if self._backup_failed is not None:
            notices.append(self._backup_failed)
        return notices

    # SessionHook.
    def linked(self, session: Session) -> None:
        """Welcomed: raise every active one again, then say that is all of them."""
        if FEATURE not in session.features:
            return
        self._session = session
        active = self.active()
        for notice in active:
            self._send(Envelope.new("notification", notice.to_json()))
        self._send(Envelope.new("notification_cleared", {"except": [n.notice_id for n in active]}))

    def message(self, session: Session, envelope: Envelope) -> None:
        """(No message of this feature comes from the hub.)"""

    def unlinked(self) -> None:
        """The connection went: the next one raises them again."""
        self._session = None

    # The appliance's own changes.
    def knobs_changed(self, before: Knobs, after: Knobs) -> None:
        """Raise the notifications of knobs turned on, clear those of knobs turned off."""
        was = {n.notice_id for n in knob_notices(before, self._now())}
        now = {n.notice_id: n for n in knob_notices(after, self._now())}
        for notice_id in was - set(now):
            self._since.pop(notice_id, None)
            self._send(Envelope.new("notification_cleared", {"id": notice_id}))
        for notice_id in set(now) - was:
            self._since[notice_id] = now[notice_id].raised_at
            self._send(Envelope.new("notification", now[notice_id].to_json()))

    def backup_state(self, state: str, message: str) -> None:
        """A backup failed (raise `backup_failed`) or succeeded (clear it)."""
        if state == "failed":
            text = (
                f"The configuration backup failed: {message}"[:1000]
                if message
                else ("The configuration backup failed.")
            )
            self._backup_failed = Notice(
                BACKUP_FAILED, "backup_failed", "error", text, self._now().astimezone(UTC)
            )
            self._send(Envelope.new("notification", self._backup_failed.to_json()))
        elif state == "ok" and self._backup_failed is not None:
            self._backup_failed = None
            self._send(Envelope.new("notification_cleared", {"id": BACKUP_FAILED}))

    def _send(self, envelope: Envelope) -> None:
        if self._session is not None:
            self._session.send(envelope)
