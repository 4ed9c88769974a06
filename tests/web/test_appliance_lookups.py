"""The unknown-code throttle over the real HTTP API: every pairing-code lookup — the add
dialog's preview and the add itself — counts against one budget of 10 failures per user."""

from __future__ import annotations

from tests.api_client import ApiSession
from tests.smtp_server import LoopbackSmtp
from tests.web.org_helpers import member
from tests.web.test_appliances import appliance_for
from web.hub import Hub

UNKNOWN_CODE = "ABCDE-23456"  # well-formed, issued to nobody


async def test_adding_with_unknown_codes_is_throttled_like_the_preview(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Failed adds and previews share the 10-per-15-minutes budget: the 11th lookup is refused
    with 429 even for a valid code, which stays usable."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    add_url = f"/api/v1/organizations/{org_id}/appliances"
    for attempt in range(5):
        miss = await api.post(add_url, {"code": UNKNOWN_CODE, "name": f"Box {attempt}"})
        assert miss.status == 400, miss
        assert miss.json["error"]["field"] == "code"
    for _ in range(5):
        preview = await api.post("/api/v1/appliances/pairing-preview", {"code": UNKNOWN_CODE})
        assert preview.status == 404, preview
    appliance = appliance_for(hub)
    pairing = await appliance.connect()
    assert pairing.type == "pairing"
    code = str(pairing.body["code"])
    throttled = await api.post(add_url, {"code": code, "name": "Brno gateway"})
    assert throttled.status == 429, throttled
    assert throttled.headers.get("Retry-After")
    preview = await api.post("/api/v1/appliances/pairing-preview", {"code": code})
    assert preview.status == 429
    listing = await api.get(add_url)
    assert listing.json["appliances"] == []
    appliance.close()


async def test_only_adds_beyond_the_budget_are_refused(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Ten unknown codes in the add call alone use up the budget: the 11th add answers 429."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    add_url = f"/api/v1/organizations/{org_id}/appliances"
    for _ in range(10):
        miss = await api.post(add_url, {"code": UNKNOWN_CODE, "name": "Box"})
        assert miss.status == 400, miss
    throttled = await api.post(add_url, {"code": UNKNOWN_CODE, "name": "Box"})
    assert throttled.status == 429, throttled
