"""The simulated Kerio Control's definitions: pushes, adoption, refusals and the JSON-RPC API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mykerio.agent.definitions import REFUSED, SHARED_READ_ONLY, LocalDefinitions
from mykerio.definitions.model import DefinitionError, Kind
from mykerio.protocol.envelope import Envelope, decode, encode
from tests.agent.conftest import Start
from tests.agent.fake_hub import FakeHub

ADS = {"id": "aa11", "name": "Ads", "entries": [{"type": "Url", "url": "*.ads.example/*"}]}


def push(version: int, groups: list[Any], kind: Kind = Kind.URL) -> Envelope:
    """A `definitions` message as the box receives it (decoded, so frozen)."""
    body = {"kind": kind.value, "version": version, "groups": groups}
    return decode(encode(Envelope.new("definitions", body)), sent_by="hub")


def test_a_push_replaces_shared_entries_adopts_same_names_and_keeps_local_ones() -> None:
    """A local group named as a shared one becomes shared; other local groups stay; a shared
    group left out of the next version goes; the same version again changes nothing."""
    box = LocalDefinitions()
    box.add_local(Kind.URL, [{"name": "ads", "entries": [{"type": "Url", "url": "old.example"}]}])
    box.add_local(Kind.URL, [{"name": "Mine", "entries": [{"type": "Url", "url": "mine.example"}]}])

    answer = box.answer(push(3, [ADS]))

    assert answer.body == {"kind": "url_groups", "version": 3, "ok": True}
    assert [g["name"] for g in box.local(Kind.URL)] == ["Mine"]
    assert box.shared(Kind.URL) == [
        {
            "id": "aa11",
            "name": "Ads",
            "entries": [{"type": "Url", "url": "*.ads.example/*"}],
        }
    ]
    rows = box.rpc("UrlGroups.get", {})["list"]
    assert {r["sharedId"] for r in rows if r["groupName"] == "Ads"} == {"aa11"}
    assert box.answer(push(3, [])).body["ok"] is True  # idempotent: the version it holds
    assert box.shared(Kind.URL) != []
    box.answer(push(4, []))
    assert box.shared(Kind.URL) == []
    assert box.version(Kind.URL) == 4


def test_a_bad_or_refused_push_changes_nothing_and_names_the_errors() -> None:
    """Definitions breaking a rule are refused per entry; `refuse_apply` refuses everything."""
    box = LocalDefinitions()
    bad = {"id": "bb22", "name": "Bad", "entries": [{"type": "Url", "url": "http://x.example"}]}

    answer = box.answer(push(1, [bad]))

    assert answer.body["ok"] is False
    assert answer.body["version"] == 0
    errors: Any = answer.body["errors"]
    (error,) = errors
    assert (error["group"], error["entry"]) == ("Bad", 1)
    assert "protocol" in error["message"]
    box.refuse_apply = True
    refused = box.answer(push(1, [ADS]))
    refusals: Any = refused.body["errors"]
    assert refusals[0]["message"] == REFUSED
    assert box.shared(Kind.URL) == []


def test_the_json_rpc_look_alike_caches_edits_until_apply_and_guards_shared_entries() -> None:
    """create/set/remove are cached until apply (reset drops them); shared entries refuse."""
    box = LocalDefinitions()
    box.answer(push(1, [{**ADS, "id": "cc33"}], Kind.URL))
    created = box.rpc(
        "IpAddressGroups.create",
        {
            "groups": [
                {"groupName": "Lan", "type": "Network", "addr1": "10.0.0.0", "addr2": "255.0.0.0"}
            ]
        },
    )
    assert created["errors"] == []
    assert box.local(Kind.IP) == []  # not applied yet
    box.rpc("IpAddressGroups.reset", {})
    assert box.rpc("IpAddressGroups.get", {})["totalItems"] == 0
    box.rpc(
        "IpAddressGroups.create",
        {"groups": [{"groupName": "Lan", "type": "Host", "host": "10.0.0.1"}]},
    )
    assert box.rpc("IpAddressGroups.apply", {}) == {"errors": []}
    assert box.local(Kind.IP) == [
        {
            "name": "Lan",
            "entries": [{"type": "Host", "host": "10.0.0.1", "description": "", "enabled": True}],
        }
    ]

    (shared,) = box.rpc("UrlGroups.get", {})["list"]
    refused = box.rpc(
        "UrlGroups.set", {"groupIds": [shared["id"]], "details": {"type": "Url", "url": "x"}}
    )
    assert refused["errors"][0]["message"] == SHARED_READ_ONLY
    into_shared = box.rpc(
        "UrlGroups.create", {"groups": [{"groupName": "ads", "type": "Url", "url": "y"}]}
    )
    assert into_shared["errors"][0]["message"] == SHARED_READ_ONLY
    bad = box.rpc("TimeRanges.create", {"ranges": [{"groupName": "T", "type": "TimeRangeDaily"}]})
    assert "choose at least one day" in bad["errors"][0]["message"]


def test_local_definitions_load_from_a_file_and_keep_the_rules(tmp_path: Path) -> None:
    """`--definitions FILE` groups load per kind; one breaking a rule is refused."""
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {
                "time_ranges": [
                    {
                        "name": "Nights",
                        "entries": [
                            {
                                "type": "TimeRangeWeekly",
                                "fromDay": "Monday",
                                "toDay": "Friday",
                                "fromTime": {"hour": 22, "min": 0},
                                "toTime": {"hour": 6, "min": 0},
                            }
                        ],
                    }
                ]
            }
        )
    )
    box = LocalDefinitions.from_file(good)
    assert [g["name"] for g in box.local(Kind.TIME)] == ["Nights"]
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "ip_address_groups": [
                    {
                        "name": "X",
                        "entries": [
                            {"type": "Network", "addr1": "10.0.0.0", "addr2": "255.0.255.0"}
                        ],
                    }
                ]
            }
        )
    )
    with pytest.raises(DefinitionError, match="contiguous"):
        LocalDefinitions.from_file(bad)


async def test_the_admin_ui_serves_json_rpc_and_the_listing(
    fake_hub: FakeHub, appliance: Start
) -> None:
    """`/admin/api/jsonrpc/` answers JSON-RPC 2.0 (with Kerio's error codes); `/definitions`
    and `/api/definitions` list local and shared groups."""
    device = appliance()
    login = await device.post(
        "/admin/api/jsonrpc/",
        {"jsonrpc": "2.0", "id": 1, "method": "Session.login", "params": {"userName": "a"}},
    )
    assert json.loads(login.body)["result"]["token"]
    create = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "UrlGroups.create",
        "params": {"groups": [{"groupName": "News", "type": "Url", "url": "*.news.example"}]},
    }
    assert json.loads((await device.post("/admin/api/jsonrpc/", create)).body)["id"] == 2
    await device.post(
        "/admin/api/jsonrpc/", {"jsonrpc": "2.0", "id": 3, "method": "UrlGroups.apply"}
    )
    unknown = await device.post(
        "/admin/api/jsonrpc/", {"jsonrpc": "2.0", "id": 4, "method": "Nope.get"}
    )
    assert json.loads(unknown.body)["error"]["code"] == -32601

    listing = json.loads((await device.get("/api/definitions")).body)
    assert [g["name"] for g in listing["url_groups"]["local"]] == ["News"]
    page = await device.get("/definitions")
    assert b"News" in page.body
