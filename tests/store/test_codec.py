"""The store codec: rows and documents derived from model fields, as they are stored today."""

from __future__ import annotations

import enum
import json
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mykerio.errors import InvalidInput
from mykerio.store.codec import MONGO, SQLITE, Codec, UnsupportedField, table
from tests.store.factories import T0


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


def test_defaults_fill_columns_an_old_row_lacks_for_fields_without_a_model_default() -> None:
    """`defaults` reads a missing column as given; naming a field not stored is refused."""
    codec = Codec(Sample, MONGO, defaults={"count": 0, "tags": ()})
    document = codec.encode(SAMPLE)
    del document["count"], document["tags"]

    assert codec.decode(document) == replace(SAMPLE, count=0, tags=())
    with pytest.raises(UnsupportedField, match="missing"):
        Codec(Sample, MONGO, defaults={"missing": 0})
    with pytest.raises(UnsupportedField, match="tags"):
        Codec(Sample, MONGO, skip=("tags",), defaults={"tags": ()})


def test_encode_fields_writes_some_columns_as_encode_does() -> None:
    """An update's columns are encoded and renamed like the whole row; unknown names fail."""
    codec = Codec(Sample, SQLITE, rename={"at": "at_ms"})

    assert codec.encode_fields(enabled=False, at=T0, tags=("x",)) == {
        "enabled": 0,
        "at_ms": 1767225600000,
        "tags": '["x"]',
    }
    with pytest.raises(InvalidInput):
        codec.encode_fields(at=T0.replace(tzinfo=None))
    with pytest.raises(UnsupportedField, match="nothing"):
        codec.encode_fields(nothing=1)


def test_a_table_names_its_key_id_in_mongo_only() -> None:
    """`table` gives one model both codecs: the key is `_id` in MongoDB, and the per-store
    options apply to their own store alone.
    """
    samples = table(
        Sample,
        "samples",
        skip=("readings",),
        sqlite_rename={"note": "remark"},
        mongo_skip=("key",),
        extra={"upper": lambda sample: sample.id.upper()},
    )

    row, document = samples.sqlite.encode(SAMPLE), samples.mongo.encode(SAMPLE)

    assert (samples.name, row["id"], row["remark"], row["upper"]) == ("samples", "s1", "none", "S1")
    assert "readings" not in row
    assert (document["_id"], document["note"], document["upper"]) == ("s1", "none", "S1")
    assert "key" not in document
    assert "readings" not in document
    assert samples.mongo.decode(document, key=SAMPLE.key) == replace(SAMPLE, readings=())
    assert "_id" not in table(Sample, "samples", key=None).mongo.encode(SAMPLE)
