"""The relay's API and pages: members see their appliances' window, refusals and blacklisted
recipients (another organization's are a 404); only the hub's operators (`[hub] operators`)
see the whole blacklist and remove entries — members of organizations get 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest

from mykerio.clock import FakeClock
from tests.conftest import api_session, hub_config_for, running_hub
from tests.sms_gateway import LoopbackSmsGateway
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from tests.web.test_relay import (
    blacklisted,
    linked_simulator,
    # `linked_simulator`'s simulators are stopped by that module's autouse fixture, which must
    # run here too: left running, they outlived their test's loop and failed a later teardown.
    stop_simulators,  # noqa: F401
)
from web.hub import Hub

OPERATOR = "op@hub.example"


@pytest.fixture
async def hub(
    tmp_path: Path, smtp_server: LoopbackSmtp, sms_gateway: LoopbackSmsGateway, clock: FakeClock
) -> AsyncIterator[Hub]:
    """A hub whose operator is op@hub.example."""
    config = hub_config_for(tmp_path, smtp_server, sms_gateway, **{"hub.operators": OPERATOR})
    async with running_hub(config, clock) as running:
        yield running


async def test_members_see_each_appliances_window_refusals_and_blacklist(
    hub: Hub, smtp_server: LoopbackSmtp, tmp_path: Path, clock: FakeClock
) -> None:
    """After relaying, the organization's relay list shows n / 100, when the window resets,
    refusals by reason and the blacklisted recipient with its release time."""
    api = api_session(hub)
    smtp_server.refusals["gone@example.com"] = "550 5.1.1 user unknown"
    link = await linked_simulator(hub, api, smtp_server, tmp_path)
    org_id = str((await api.get("/api/v1/organizations")).json["selected"])
    await link.relay.send(("gone@example.com", "ana@example.com", "x@example.local"), "A", "x\n")
    entry = await blacklisted(hub, "gone@example.com")
    await link.relay.send(("gone@example.com",), "A", "x\n")

    listed = await api.get(f"/api/v1/organizations/{org_id}/relay")

    assert listed.status == 200, listed
    [row] = listed.json["appliances"]
    assert row["name"] == "Brno gateway"
    assert (row["sent"], row["limit"]) == (2, 100)
    assert row["refused"] == {"quota": 0, "blacklisted": 1, "bounced": 0, "format": 1}
    assert [b["address"] for b in row["blacklisted"]] == ["gone@example.com"]
    assert row["blacklisted"][0]["release_at"].startswith(entry.release_at.strftime("%Y-%m-%dT"))
    assert row["refused_altogether"] is False

    stranger = api_session(hub, "stranger")
    other_org = await member(stranger, smtp_server, "eve@other.example", "Eve")
    assert other_org != org_id
    assert (await stranger.get(f"/api/v1/organizations/{org_id}/relay")).status == 404


async def test_only_operators_see_and_edit_the_whole_blacklist(
    hub: Hub, smtp_server: LoopbackSmtp, tmp_path: Path
) -> None:
    """A member of an organization gets 404 from the operator page and API; the operator
    lists the blacklist and removes an entry, after which appliances may mail it again."""
    api = api_session(hub)
    smtp_server.refusals["gone@example.com"] = "550 5.1.1 user unknown"
    link = await linked_simulator(hub, api, smtp_server, tmp_path)
    await link.relay.send(("gone@example.com",), "A", "x\n")
    await blacklisted(hub, "gone@example.com")
    address = quote("gone@example.com")

    assert (await api.get("/api/v1/operator/relay/blacklist")).status == 404
    assert (
        await api.request("DELETE", f"/api/v1/operator/relay/blacklist/{address}")
    ).status == 404
    assert (await api.get("/operator/relay")).status == 404

    operator = api_session(hub, "operator")
    await member(operator, smtp_server, OPERATOR, "Olga Operator")
    assert (await operator.get("/operator/relay")).status == 200
    listed = await operator.get("/api/v1/operator/relay/blacklist")
    assert listed.status == 200
    [entry] = listed.json["entries"]
    assert (entry["address"], entry["bounces"]) == ("gone@example.com", 1)
    assert "550" in entry["last_reason"]

    assert (
        await operator.request("DELETE", f"/api/v1/operator/relay/blacklist/{address}")
    ).status == 204
    assert (await operator.get("/api/v1/operator/relay/blacklist")).json["entries"] == []
    assert (
        await operator.request("DELETE", f"/api/v1/operator/relay/blacklist/{address}")
    ).status == 404
    del smtp_server.refusals["gone@example.com"]
    [again] = await link.relay.send(("gone@example.com",), "A", "x\n")
    assert again.accepted
