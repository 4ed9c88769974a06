"""The appliance listing: the JSON the API answers, in name order, current after every change,
and exactly what the API's response model says."""

from __future__ import annotations

import dataclasses
import gzip
import json

from hypothesis import given
from hypothesis import strategies as st

from mykerio.appliances.listing import CHUNK, Listing
from mykerio.appliances.view import ApplianceView
from web.models.appliances import Appliances


def view(appliance_id: str, name: str, status: str = "green") -> ApplianceView:
    return ApplianceView(
        id=appliance_id,
        org_id="0" * 32,
        name=name,
        product="control",
        version="9.4.0",
        status=status,
        reasons=() if status == "green" else ("Offline",),
        pending=0,
        connected=status != "red",
        ip="192.0.2.1",
        last_seen="2026-12-02T10:00:00+00:00",
    )


def listed(listing: Listing) -> list[dict[str, object]]:
    document = json.loads(listing.json_array())
    assert isinstance(document, list)
    return document


def test_the_array_is_by_name_whatever_the_case() -> None:
    listing = Listing()
    for appliance_id, name in (("c", "brno"), ("a", "Zlín"), ("b", "Aš")):
        listing[appliance_id] = view(appliance_id, name)
    assert [a["name"] for a in listed(listing)] == ["Aš", "brno", "Zlín"]
    assert [v.name for v in listing.ordered()] == ["Aš", "brno", "Zlín"]


def test_a_change_a_rename_and_a_removal_show_in_the_next_read() -> None:
    listing = Listing()
    listing["a"] = view("a", "Alpha")
    listing["b"] = view("b", "Beta")
    before = listing.json_array()
    listing["a"] = view("a", "Alpha", status="red")
    assert [a["status"] for a in listed(listing)] == ["red", "green"]
    listing["a"] = view("a", "Gamma", status="red")
    assert [a["name"] for a in listed(listing)] == ["Beta", "Gamma"]
    del listing["b"]
    assert [a["id"] for a in listed(listing)] == ["a"]
    assert before != listing.json_array()


def test_a_repeated_report_reuses_the_built_array() -> None:
    listing = Listing()
    listing["a"] = view("a", "Alpha")
    first = listing.json_array()
    listing["a"] = view("a", "Alpha")
    assert listing.json_array() is first


names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)


@given(st.lists(st.tuples(names, st.sampled_from(["green", "yellow", "red", "grey"])), max_size=8))
def test_the_array_is_what_the_response_model_answers(rows: list[tuple[str, str]]) -> None:
    """Byte-level caching must not drift from the API's schema: the model reads the array
    back as the same appliances, and writes them the same way."""
    listing = Listing()
    for index, (name, status) in enumerate(rows):
        listing[f"id{index}"] = view(f"id{index}", name, status)
    document = b'{"appliances":' + listing.json_array() + b"}"
    model = Appliances.model_validate_json(document)
    assert model.model_dump(mode="json")["appliances"] == [
        dataclasses.asdict(v) | {"reasons": list(v.reasons)} for v in listing.ordered()
    ]


def test_the_compressed_document_is_the_plain_one_and_follows_changes() -> None:
    listing = Listing()
    listing["a"] = view("a", "Alpha")
    plain = listing.document()
    assert json.loads(plain) == {"appliances": json.loads(listing.json_array())}
    compressed = listing.document(gzipped=True)
    assert gzip.decompress(compressed) == plain
    assert listing.document(gzipped=True) is compressed  # made once, shared by every reader
    listing["a"] = view("a", "Alpha", status="red")
    assert (
        json.loads(gzip.decompress(listing.document(gzipped=True)))["appliances"][0]["status"]
        == "red"
    )
    del listing["a"]
    assert gzip.decompress(listing.document(gzipped=True)) == b'{"appliances":[]}'


operations = st.lists(
    st.tuples(
        st.sampled_from(["status", "rename", "add", "remove"]),
        st.integers(min_value=0, max_value=10_000),
    ),
    max_size=25,
)


@given(st.integers(min_value=0, max_value=3 * CHUNK + 5), operations)
def test_the_chunked_compression_always_inflates_to_the_plain_document(
    size: int, changes: list[tuple[str, int]]
) -> None:
    """Whatever changes (a status recompresses one chunk, a rename or an addition all of them),
    the compressed answer inflates, with gzip's own checks (CRC, length), to the plain one."""
    listing = Listing()
    for index in range(size):
        listing[f"id{index:04d}"] = view(f"id{index:04d}", f"Appliance {index:04d}")
    assert gzip.decompress(listing.document(gzipped=True)) == listing.document()
    added = size
    for operation, pick in changes:
        ids = sorted(listing)
        if operation == "add" or not ids:
            listing[f"new{added}"] = view(f"new{added}", f"New {pick}")
            added += 1
        else:
            target = ids[pick % len(ids)]
            if operation == "status":
                old = listing[target]
                listing[target] = view(target, old.name, "red" if old.status != "red" else "green")
            elif operation == "rename":
                listing[target] = view(target, f"Renamed {pick}", listing[target].status)
            else:
                del listing[target]
        assert gzip.decompress(listing.document(gzipped=True)) == listing.document()
