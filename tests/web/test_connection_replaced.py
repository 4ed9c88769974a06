"""A second socket with a linked appliance's key replaces the first, over real websockets from
two loopback addresses, and the organization's activity log records it with both."""

from __future__ import annotations

from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.web.live_watch import LiveWatch
from tests.web.org_helpers import member
from tests.web.test_appliances import appliance_for, paired, status_is
from web.hub import Hub


async def test_a_replaced_connection_is_in_the_activity_log_with_both_addresses(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """The first socket closes with 4002; the log gets `appliance_connection_replaced` from
    the new address, naming the old one too, and the action filter finds it."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    first, _ = await paired(hub, api, org_id)
    second = appliance_for(hub)
    second.private_pem, second.public_key = first.private_pem, first.public_key
    second.source = "127.0.0.2"
    async with LiveWatch(api, org_id) as live:
        assert (await second.connect()).type == "welcome"
        assert await first.closed() == 4002
        # The new connection's actor reports after the replacement is recorded.
        await live.until(status_is("green"))
    path = f"/api/v1/organizations/{org_id}/activity?action=appliance_connection_replaced"
    events = (await api.get(path)).json["events"]
    assert len(events) == 1, events
    event = events[0]
    assert (event["actor"], event["ip"], event["target"]) == ("", "127.0.0.2", "Brno gateway")
    assert event["detail"] == ("the connection from 127.0.0.1 was replaced by one from 127.0.0.2")
    second.close()
