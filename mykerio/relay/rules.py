"""The relay's rules, as guide 5.1 states them, with its exact refusal texts.

Each recipient of a submitted email is accepted or refused, checked in this order:

1. the address is well formed and its top-level domain exists (`FORMAT`);
2. the appliance is not refused altogether: fewer than `BOUNCED_LIMIT` (5) distinct recipients
   it mailed are blacklisted now (`BOUNCED`; lifted as their entries are released);
3. the recipient is not blacklisted: an address that bounced is refused until 2 weeks after its
   last bounce (`BLACKLISTED`; trying one counts it against the appliance, as in 2.);
4. the appliance has quota left: at most `QUOTA` (100) accepted emails in a window of 24 hours
   that starts with the first email in it (`QUOTA`). A key in no organization is also held to
   `SOURCE_QUOTA` (300, `[relay] source_quota`) per window across all such keys from one
   source address, so that fresh keys cannot multiply the quota; past it the refusal is the
   same quota text.

Each accepted recipient is one email (counted against the quota); refusals are counted by
reason. Everything here is pure: the time comes in, new records go out.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from mykerio.models import BlacklistEntry, RelaySender
from mykerio.relay.addresses import is_valid_recipient, normal_address

QUOTA = 100
SOURCE_QUOTA = 300
WINDOW = timedelta(hours=24)
BLACKLIST_FOR = timedelta(weeks=2)
BOUNCED_LIMIT = 5
# The addresses a sender's record remembers for the appliance refusal (the oldest go first).
MAX_BOUNCED_REMEMBERED = 64


class Reason(enum.StrEnum):
    """Why a recipient was refused."""

    QUOTA = "quota"
    BLACKLISTED = "blacklisted"
    BOUNCED = "bounced"
    FORMAT = "format"


def refusal_text(reason: Reason, address: str) -> str:
    """The guide's words for a refusal (section 5.1, "Examples of Debug log messages")."""
    if reason is Reason.QUOTA:
        return f"Email to {address} rejected. Your appliance exhausted email quota."
    if reason is Reason.BOUNCED:
        return (
            f"Email to {address} rejected. Your appliance is not allowed to send emails due to "
            "too many bounced emails."
        )
    if reason is Reason.BLACKLISTED:
        return (
            f"Recipient {address}: Email send failed. Recipient is blacklisted due to bounce "
            "messages."
        )
    return f"Recipient {address}: Email address format is not valid."


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """The relay's answer for one recipient: accepted, or refused with a reason and its text."""

    address: str
    reason: Reason | None

    @property
    def accepted(self) -> bool:
        return self.reason is None

    @property
    def message(self) -> str:
        """The refusal text ("" when accepted)."""
        return "" if self.reason is None else refusal_text(self.reason, self.address)


Blacklisted = Callable[[str], BlacklistEntry | None]
"""The active blacklist entry of a normalised address, or None."""


def new_sender(sender_id: str, now: datetime) -> RelaySender:
    """A sender that has not relayed anything yet."""
    return RelaySender(
        id=sender_id,
        window_started_at=None,
        window_count=0,
        sent_total=0,
        refused_quota=0,
        refused_blacklisted=0,
        refused_bounced=0,
        refused_format=0,
        bounced_recipients=(),
        updated_at=now,
    )


def is_active(entry: BlacklistEntry | None, now: datetime) -> bool:
    """Whether a blacklist entry still blocks its address."""
    return entry is not None and entry.release_at > now


def current_window(sender: RelaySender, now: datetime) -> RelaySender:
    """The sender with its quota window reset if 24 hours passed since it started."""
    started = sender.window_started_at
    if started is not None and now >= started + WINDOW:
        return dataclasses.replace(sender, window_started_at=None, window_count=0)
    return sender


def window_resets_at(sender: RelaySender) -> datetime | None:
    """When the sender's current window ends (None: no window)."""
    return None if sender.window_started_at is None else sender.window_started_at + WINDOW


def bounced_now(sender: RelaySender, blacklisted: Blacklisted, now: datetime) -> tuple[str, ...]:
    """The sender's remembered recipients that are blacklisted at `now`."""
    return tuple(a for a in sender.bounced_recipients if is_active(blacklisted(a), now))


def remember_bounced(sender: RelaySender, address: str) -> RelaySender:
    """The sender with `address` among its bounced recipients (once; the newest kept)."""
    kept = (*(a for a in sender.bounced_recipients if a != address), address)
    return dataclasses.replace(sender, bounced_recipients=kept[-MAX_BOUNCED_REMEMBERED:])


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """The verdicts of one submission and the sender records as they are after it."""

    verdicts: tuple[Verdict, ...]
    sender: RelaySender
    source: RelaySender | None


def decide(
    recipients: Sequence[str],
    *,
    sender: RelaySender,
    source: RelaySender | None,
    blacklisted: Blacklisted,
    now: datetime,
    source_quota: int = SOURCE_QUOTA,
) -> Decision:
    """Accept or refuse each recipient of one email (see the module's rules).

    `source` is the per-source-address record of a key in no organization (None for a key in
    an organization). Duplicate recipients are answered once.
    """
    sender = current_window(sender, now)
    source = None if source is None else current_window(source, now)
    verdicts: list[Verdict] = []
    seen: set[str] = set()
    for raw in recipients:
        address = raw.strip()
        key = normal_address(address)
        if key in seen:
            continue
        seen.add(key)
        reason: Reason | None = None
        if not is_valid_recipient(address):
            reason = Reason.FORMAT
        elif len(bounced_now(sender, blacklisted, now)) >= BOUNCED_LIMIT:
            reason = Reason.BOUNCED
        elif is_active(blacklisted(key), now):
            reason = Reason.BLACKLISTED
            sender = remember_bounced(sender, key)
        elif sender.window_count >= QUOTA or (
            source is not None and source.window_count >= source_quota
        ):
            reason = Reason.QUOTA
        if reason is None:
            sender = _count_sent(sender, now)
            source = None if source is None else _count_sent(source, now)
        else:
            sender = _count_refused(sender, reason)
        verdicts.append(Verdict(address, reason))
    sender = dataclasses.replace(sender, updated_at=now)
    if source is not None:
        source = dataclasses.replace(source, updated_at=now)
    return Decision(tuple(verdicts), sender, source)


def _count_sent(sender: RelaySender, now: datetime) -> RelaySender:
    return dataclasses.replace(
        sender,
        window_started_at=sender.window_started_at or now,
        window_count=sender.window_count + 1,
        sent_total=sender.sent_total + 1,
    )


def _count_refused(sender: RelaySender, reason: Reason) -> RelaySender:
    field = f"refused_{reason.value}"
    return dataclasses.replace(sender, **{field: getattr(sender, field) + 1})


def bounce(
    entry: BlacklistEntry | None, address: str, reason: str, now: datetime
) -> BlacklistEntry:
    """The blacklist entry after a bounce of `address` at `now` (2 weeks from this bounce)."""
    key = normal_address(address)
    detail = reason[:300]
    if entry is None:
        return BlacklistEntry(key, now, now, now + BLACKLIST_FOR, 1, detail)
    return dataclasses.replace(
        entry,
        last_bounce_at=now,
        release_at=now + BLACKLIST_FOR,
        bounces=entry.bounces + 1,
        last_reason=detail,
    )
