"""The store codec: rows and documents derived from model fields, as they are stored today."""

from __future__ import annotations

import enum
import json
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mykerio.models import Appliance, Pairing, StatusChange
from mykerio.store.codec import MONGO, SQLITE, Codec, UnsupportedField
from mykerio.store.mongo import appliance_documents
from mykerio.store.sqlite import appliance_rows
from tests.store.factories import T0, make_appliance, make_pairing, make_status_change


class Colour(enum.Enum):
    GREEN = "green"
    RED = "red"


@dataclass(frozen=True, slots=True)
class Reading:
    at: datetime
    raw: bytes
    colour: Colour


@dataclass(frozen=True, slots=True)
class Sample:
    id: str
    count: int
    ratio: float
    enabled: bool
    at: datetime
    seen: datetime | None
    key: bytes | None
    tags: tuple[str, ...]
    colour: Colour
    reading: Reading
    readings: tuple[Reading, ...] = ()
    note: str = "none"


SAMPLE = Sample(
    id="s1",
    count=3,
    ratio=0.5,
    enabled=True,
    at=T0 + timedelta(milliseconds=1),
    seen=None,
    key=b"\x00\xff",
    tags=("a", "é"),
    colour=Colour.RED,
    reading=Reading(T0, b"\x01", Colour.GREEN),
    readings=(Reading(T0, b"", Colour.RED),),
)


def test_sqlite_rows_use_the_documented_forms_and_round_trip() -> None:
    codec = Codec(Sample, SQLITE)
    row = codec.encode(SAMPLE)
    assert row["enabled"] == 1
    assert row["at"] == 1767225600001
    assert row["seen"] is None
    assert row["key"] == b"\x00\xff"
    assert json.loads(row["tags"]) == ["a", "é"]
    assert row["colour"] == "red"
    assert json.loads(row["reading"]) == {"at": 1767225600000, "raw": "AQ", "colour": "green"}
    assert codec.decode(row) == SAMPLE


def test_a_sqlite_row_read_back_from_a_real_database_decodes() -> None:
    codec = Codec(Sample, SQLITE)
    row = codec.encode(SAMPLE)
    with sqlite3.connect(":memory:") as db:
        db.row_factory = sqlite3.Row
        db.execute(f"CREATE TABLE samples ({', '.join(codec.columns)})")
        names = ", ".join(f":{column}" for column in codec.columns)
        db.execute(f"INSERT INTO samples VALUES ({names})", row)  # noqa: S608 (our own names)
        stored = db.execute("SELECT * FROM samples").fetchone()
    assert codec.decode(stored) == SAMPLE


def test_mongo_documents_nest_natively_and_round_trip() -> None:
    codec = Codec(Sample, MONGO, rename={"id": "_id"})
    document = codec.encode(SAMPLE)
    assert document["_id"] == "s1"
    assert document["enabled"] is True
    assert document["tags"] == ["a", "é"]
    assert document["reading"] == {"at": T0, "raw": b"\x01", "colour": "green"}
    # The driver may give back naive UTC datetimes or another tzinfo: read as UTC.
    naive = {**document, "at": (T0 + timedelta(milliseconds=1)).replace(tzinfo=None)}
    assert codec.decode(naive) == SAMPLE
    shifted = {
        **document,
        "at": (T0 + timedelta(milliseconds=1)).astimezone(timezone(timedelta(hours=2))),
    }
    assert codec.decode(shifted).at.tzinfo is UTC


def test_mongo_truncates_datetimes_to_milliseconds_as_bson_does() -> None:
    codec = Codec(Sample, MONGO)
    precise = replace(SAMPLE, at=T0 + timedelta(microseconds=1500))
    assert codec.encode(precise)["at"] == T0 + timedelta(milliseconds=1)


def test_a_missing_column_reads_as_the_default_and_a_required_one_fails() -> None:
    codec = Codec(Sample, SQLITE)
    row = codec.encode(SAMPLE)
    del row["note"], row["readings"]
    decoded = codec.decode(row)
    assert (decoded.note, decoded.readings) == ("none", ())
    del row["count"]
    with pytest.raises(KeyError):
        codec.decode(row)


def test_skipped_fields_come_from_elsewhere_and_extras_are_added() -> None:
    codec = Codec(Sample, SQLITE, skip=("tags",), extra={"id_upper": lambda s: s.id.upper()})
    row = codec.encode(SAMPLE)
    assert "tags" not in row
    assert row["id_upper"] == "S1"
    assert codec.decode(row, tags=("a", "é")) == SAMPLE


def test_a_field_type_it_cannot_store_is_refused_at_once() -> None:
    @dataclass(frozen=True)
    class Bad:
        values: list[str]

    with pytest.raises(UnsupportedField, match=r"Bad\.values"):
        Codec(Bad, SQLITE)


@pytest.mark.parametrize(
    ("value", "sqlite_form", "mongo_form"),
    [
        (make_appliance(), appliance_rows.appliance_params, appliance_documents.appliance_document),
        (make_pairing(), appliance_rows.pairing_params, appliance_documents.pairing_document),
        (
            make_status_change(T0),
            appliance_rows.status_change_params,
            appliance_documents.status_change_document,
        ),
    ],
    ids=["appliance", "pairing", "status_change"],
)
def test_it_writes_what_the_hand_written_converters_write(
    value: Appliance | Pairing | StatusChange, sqlite_form: object, mongo_form: object
) -> None:
    # Replacing the hand-written converters must not change a byte of what is stored.
    model = type(value)
    id_field = "code_hash" if model is Pairing else "id"
    sqlite_codec = Codec(model, SQLITE)
    mongo_codec = Codec(model, MONGO, rename={id_field: "_id"})
    assert sqlite_codec.encode(value) == sqlite_form(value)  # type: ignore[operator]
    assert mongo_codec.encode(value) == mongo_form(value)  # type: ignore[operator]
    assert sqlite_codec.decode(sqlite_codec.encode(value)) == value
    assert mongo_codec.decode(mongo_codec.encode(value)) == value
