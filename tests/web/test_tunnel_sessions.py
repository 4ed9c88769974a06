"""Tunnel sessions without a socket: tickets once and within their time, one cookie jar per
session, and the bus events that end sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mykerio.accounts.sessions import SessionEnded
from mykerio.bus import LocalBus
from mykerio.clock import FakeClock
from mykerio.organizations.events import MemberRemoved
from web.tunnel_sessions import TunnelGrant, TunnelSessions

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def grant(user_id: str = "u1", hub_session: str = "h1") -> TunnelGrant:
    return TunnelGrant(
        user_id=user_id,
        email=f"{user_id}@acme.example",
        name=user_id,
        org_id="o1",
        org_name="Acme",
        appliance_id="a1",
        appliance_name="gw",
        hub_session=hub_session,
        session_expires_at=NOW + timedelta(hours=1),
        hub_token="secret-token",
    )


def test_a_ticket_opens_one_session_once_and_only_in_time() -> None:
    """Redeemed once; a second use, or a use after its seconds, gives nothing."""
    clock = FakeClock(NOW)
    sessions = TunnelSessions(clock, 30)
    ticket = sessions.issue(grant())
    assert sessions.redeem(ticket) is not None
    assert sessions.redeem(ticket) is None
    late = sessions.issue(grant())
    clock.advance(31)
    assert sessions.redeem(late) is None


def test_each_session_has_its_own_jar_and_the_token_is_not_in_reprs() -> None:
    """The appliance's cookies of one session are not another's; expiring one removes it."""
    sessions = TunnelSessions(FakeClock(NOW), 30)
    first = sessions.redeem(sessions.issue(grant("ana")))
    second = sessions.redeem(sessions.issue(grant("bob", "h2")))
    assert first is not None
    assert second is not None
    first[1].keep_cookie("KSESSION=abc; Path=/admin; HttpOnly")
    assert first[1].cookie_header() == "KSESSION=abc"
    assert second[1].cookie_header() is None
    first[1].keep_cookie("KSESSION=; Max-Age=0; Path=/admin")
    assert first[1].cookie_header() is None
    assert "secret-token" not in repr(first[1])


def test_logout_and_removal_end_sessions_at_once() -> None:
    """SessionEnded ends that hub session's tunnels; MemberRemoved the member's."""
    bus = LocalBus()
    sessions = TunnelSessions(FakeClock(NOW), 30)
    sessions.subscribe(bus)
    ana = sessions.redeem(sessions.issue(grant("ana", "h1")))
    bob = sessions.redeem(sessions.issue(grant("bob", "h2")))
    assert ana is not None
    assert bob is not None
    bus.publish(SessionEnded("ana", "h1", "logout"))
    assert sessions.session(ana[0]) is None
    assert sessions.session(bob[0]) is bob[1]
    bus.publish(MemberRemoved("o1", ("bob",)))
    assert sessions.session(bob[0]) is None
