"""The relay's rules (mykerio/relay/rules.py): quota, blacklist, appliance refusal, format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mykerio.models import BlacklistEntry, RelaySender
from mykerio.relay.rules import (
    BOUNCED_LIMIT,
    QUOTA,
    SOURCE_QUOTA,
    Decision,
    Reason,
    bounce,
    decide,
    new_sender,
    refusal_text,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _decide(
    recipients: list[str],
    sender: RelaySender,
    now: datetime,
    blacklist: dict[str, BlacklistEntry] | None = None,
    source: RelaySender | None = None,
) -> Decision:
    entries = blacklist or {}
    return decide(recipients, sender=sender, source=source, blacklisted=entries.get, now=now)


def test_texts_are_the_guides_word_for_word() -> None:
    """Each refusal reads exactly as in guide 5.1's table of debug log messages."""
    a = "asmith@example.com"
    assert refusal_text(Reason.FORMAT, "asmith@example.local") == (
        "Recipient asmith@example.local: Email address format is not valid."
    )
    assert refusal_text(Reason.BLACKLISTED, a) == (
        "Recipient asmith@example.com: Email send failed. Recipient is blacklisted due to "
        "bounce messages."
    )
    assert refusal_text(Reason.BOUNCED, a) == (
        "Email to asmith@example.com rejected. Your appliance is not allowed to send emails due "
        "to too many bounced emails."
    )
    assert refusal_text(Reason.QUOTA, a) == (
        "Email to asmith@example.com rejected. Your appliance exhausted email quota."
    )


def test_quota_is_100_in_24_hours_from_the_first_email() -> None:
    """The 101st email is refused; the window resets 24 h after its first email, not later."""
    sender = new_sender("key:a", T0)
    for n in range(QUOTA):
        at = T0 + timedelta(hours=20, seconds=n) if n else T0
        decision = _decide([f"u{n}@example.com"], sender, at)
        assert decision.verdicts[0].accepted
        sender = decision.sender
    late = T0 + timedelta(hours=23, minutes=59)
    refused = _decide(["x@example.com"], sender, late)
    assert refused.verdicts[0].reason is Reason.QUOTA
    assert refused.verdicts[0].message.endswith("Your appliance exhausted email quota.")
    assert refused.sender.refused_quota == 1
    again = _decide(["x@example.com"], refused.sender, T0 + timedelta(hours=24))
    assert again.verdicts[0].accepted
    assert again.sender.window_started_at == T0 + timedelta(hours=24)
    assert again.sender.window_count == 1


def test_format_and_unknown_top_level_domain() -> None:
    """A malformed address or a TLD that IANA does not list is refused as not valid."""
    sender = new_sender("key:a", T0)
    decision = _decide(
        [
            "asmith@example.local",
            "no-at-sign",
            "a@b@example.com",
            "ok@example.cz",
            "x@example.xn--p1ai",
        ],
        sender,
        T0,
    )
    reasons = [v.reason for v in decision.verdicts]
    assert reasons == [Reason.FORMAT, Reason.FORMAT, Reason.FORMAT, None, None]
    assert decision.sender.refused_format == 3
    assert decision.sender.window_count == 2


def test_blacklist_lasts_two_weeks_after_the_last_bounce() -> None:
    """A bounced address is refused until 2 weeks after its latest bounce."""
    entry = bounce(None, "Bob@Example.com", "550 no such user", T0)
    entry = bounce(entry, "bob@example.com", "550 no such user", T0 + timedelta(days=5))
    assert entry.bounces == 2
    blacklist = {"bob@example.com": entry}
    sender = new_sender("key:a", T0)
    at = T0 + timedelta(days=18, hours=23)
    refused = _decide(["BOB@example.com"], sender, at, blacklist)
    assert refused.verdicts[0].reason is Reason.BLACKLISTED
    assert "Recipient is blacklisted due to bounce messages." in refused.verdicts[0].message
    released = _decide(["bob@example.com"], sender, T0 + timedelta(days=19), blacklist)
    assert released.verdicts[0].accepted


def test_appliance_refused_at_five_blacklisted_recipients_and_lifted_on_release() -> None:
    """After 5 distinct blacklisted recipients every email is refused, until they are released."""
    blacklist = {
        f"b{n}@example.com": bounce(None, f"b{n}@example.com", "550", T0) for n in range(9)
    }
    sender = new_sender("key:a", T0)
    for n in range(BOUNCED_LIMIT):
        decision = _decide([f"b{n}@example.com"], sender, T0, blacklist)
        assert decision.verdicts[0].reason is Reason.BLACKLISTED
        sender = decision.sender
    refused = _decide(["fine@example.com"], sender, T0, blacklist)
    assert refused.verdicts[0].reason is Reason.BOUNCED
    assert refused.sender.refused_bounced == 1
    lifted = _decide(["fine@example.com"], sender, T0 + timedelta(weeks=2), blacklist)
    assert lifted.verdicts[0].accepted


def test_source_cap_for_keys_in_no_organization() -> None:
    """Fresh keys from one address share one cap: past it each is refused as out of quota."""
    source = new_sender("source:192.0.2.7", T0)
    for n in range(SOURCE_QUOTA):
        sender = new_sender(f"key:{n // QUOTA}", T0)
        decision = _decide([f"u{n}@example.com"], sender, T0, source=source)
        assert decision.verdicts[0].accepted
        assert decision.source is not None
        source = decision.source
    fresh = _decide(["u@example.com"], new_sender("key:new", T0), T0, source=source)
    assert fresh.verdicts[0].reason is Reason.QUOTA


def test_duplicate_recipients_are_answered_once() -> None:
    """One address named twice is one email and one verdict."""
    decision = _decide(["a@example.com", " A@example.com"], new_sender("key:a", T0), T0)
    assert len(decision.verdicts) == 1
    assert decision.sender.window_count == 1
