"""One codec per model: SQLite rows and MongoDB documents derived from a dataclass's fields.

A `Codec` reads the model's field types once and converts each field by its type, in the
adapter's `Dialect`:

| field type              | SQLite (`SQLITE`)                    | MongoDB (`MONGO`)               |
|-------------------------|--------------------------------------|---------------------------------|
| str, int, float         | as is                                | as is                           |
| bool                    | 0 or 1                               | as is                           |
| bytes                   | BLOB                                 | BSON binary, read back as bytes |
| datetime (UTC)          | integer milliseconds since the epoch | UTC datetime, whole millis      |
| Enum                    | its value                            | its value                       |
| tuple[X, ...]           | JSON array text                      | array                           |
| nested frozen dataclass | JSON object text                     | subdocument                     |
| X or None               | NULL for None                        | null for None                   |

JSON text is written as `json.dumps` writes it by default, as the stored rows always were.
Inside JSON text (SQLite tuples and nested dataclasses) datetimes are milliseconds and bytes
unpadded base64url, so a nested value round-trips too. `rename` maps a field to its column (the
id is `_id` in MongoDB); `extra` adds derived columns (a lowercased email for a unique index);
`skip` leaves out fields stored elsewhere, which `decode` then takes as keyword arguments. A
column missing from an old row or document is read as the field's default, or as its entry in
`defaults` for a field whose model has none, so a field added later needs no data migration.
`encode_fields` gives the columns of some fields only, for an update.

A `Table` is one model's place in both stores: the SQLite table and the MongoDB collection of
that name, with the model's codec in each dialect. In MongoDB the key field is `_id`.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from mykerio.store.values import from_millis, to_millis, to_utc_millis

M = TypeVar("M")
Encode = Callable[[Any], Any]
Decode = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one store writes the types that it has no native form for."""

    name: str
    native_bool: bool
    native_datetime: bool
    native_nesting: bool  # arrays and subdocuments, rather than JSON text


SQLITE = Dialect("sqlite", native_bool=False, native_datetime=False, native_nesting=False)
MONGO = Dialect("mongo", native_bool=True, native_datetime=True, native_nesting=True)
# Inside JSON text: no native datetimes, bytes or nesting of their own.
_JSON = Dialect("json", native_bool=True, native_datetime=False, native_nesting=True)


class Record(Protocol):
    """A stored row or document, read by column name: `sqlite3.Row` or a MongoDB document."""

    def __getitem__(self, column: str, /) -> Any: ...


class UnsupportedField(TypeError):
    """A model field of a type the codec does not know how to store."""


class Codec(Generic[M]):
    """Rows or documents for one model in one dialect."""

    def __init__(
        self,
        model: type[M],
        dialect: Dialect,
        *,
        rename: Mapping[str, str] | None = None,
        skip: tuple[str, ...] = (),
        extra: Mapping[str, Callable[[M], Any]] | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        if not dataclasses.is_dataclass(model):
            raise UnsupportedField(f"{model.__name__} is not a dataclass")
        self.model = model
        self.dialect = dialect
        self._rename = dict(rename or {})
        self._skip = frozenset(skip)
        self._extra = dict(extra or {})
        unused_defaults = dict(defaults or {})
        hints = typing.get_type_hints(model)
        # name, column, encode, decode, and how to make its default (None: it has none)
        self._fields: list[tuple[str, str, Encode, Decode, Callable[[], Any] | None]] = []
        for item in dataclasses.fields(model):
            if item.name in self._skip:
                continue
            encode, decode = _converters(hints[item.name], dialect, f"{model.__name__}.{item.name}")
            default: Callable[[], Any] | None = None
            if item.name in unused_defaults:
                default = _constant(unused_defaults.pop(item.name))
            elif item.default is not dataclasses.MISSING:
                default = _constant(item.default)
            elif item.default_factory is not dataclasses.MISSING:
                default = item.default_factory
            column = self._rename.get(item.name, item.name)
            self._fields.append((item.name, column, encode, decode, default))
        if unused_defaults:
            names = sorted(unused_defaults)
            raise UnsupportedField(f"{model.__name__} has no stored fields {names} to default")
        self._by_name = {name: (column, encode) for name, column, encode, _, _ in self._fields}

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns (or document keys) `encode` gives, in field order, extras last."""
        return tuple(column for _, column, *_ in self._fields) + tuple(self._extra)

    def encode(self, value: M) -> dict[str, Any]:
        """The row's named parameters, or the document, for `value`."""
        stored = {
            column: encode(getattr(value, name)) for name, column, encode, _, _ in self._fields
        }
        for column, derive in self._extra.items():
            stored[column] = derive(value)
        return stored

    def column(self, name: str) -> str:
        """The column (or document key) that holds the field `name`."""
        return self._stored_as(name)[0]

    def encode_fields(self, **values: Any) -> dict[str, Any]:
        """The columns (or document keys) of just these fields, as `encode` writes them."""
        stored = {}
        for name, value in values.items():
            column, encode = self._stored_as(name)
            stored[column] = encode(value)
        return stored

    def _stored_as(self, name: str) -> tuple[str, Encode]:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnsupportedField(f"{self.model.__name__} stores no field {name}") from None

    def decode(self, stored: Record, **elsewhere: Any) -> M:
        """The model in a row or document; `elsewhere` gives the skipped fields."""
        values: dict[str, Any] = dict(elsewhere)
        for name, column, _, decode, default in self._fields:
            try:
                raw = stored[column]
            except (KeyError, IndexError):
                if default is None:
                    raise
                values[name] = default()
                continue
            values[name] = decode(raw)
        return self.model(**values)


@dataclass(frozen=True, slots=True)
class Table(Generic[M]):
    """One model's SQLite table and MongoDB collection, both called `name`, and its codecs."""

    name: str
    sqlite: Codec[M]
    mongo: Codec[M]


def table(
    model: type[M],
    name: str,
    *,
    key: str | None = "id",
    skip: tuple[str, ...] = (),
    extra: Mapping[str, Callable[[M], Any]] | None = None,
    defaults: Mapping[str, Any] | None = None,
    sqlite_rename: Mapping[str, str] | None = None,
    mongo_skip: tuple[str, ...] = (),
) -> Table[M]:
    """The `Table` of `model`: `key` becomes MongoDB's `_id` (`None`: the server picks one).

    `sqlite_rename` and `mongo_skip` are for the few columns where the two stores differ.
    """
    return Table(
        name,
        Codec(model, SQLITE, rename=sqlite_rename, skip=skip, extra=extra, defaults=defaults),
        Codec(
            model,
            MONGO,
            rename={key: "_id"} if key else None,
            skip=skip + mongo_skip,
            extra=extra,
            defaults=defaults,
        ),
    )


def _converters(hint: Any, dialect: Dialect, where: str) -> tuple[Encode, Decode]:
    """The encode and decode functions for one field type."""
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [argument for argument in arguments if argument is not type(None)]
        if len(inner) != 1 or len(arguments) != 2:
            raise UnsupportedField(f"{where}: only `X | None` unions can be stored")
        encode, decode = _converters(inner[0], dialect, where)
        return (
            lambda value: None if value is None else encode(value),
            lambda raw: None if raw is None else decode(raw),
        )
    if origin is typing.Literal:
        return _same, _same
    if origin is tuple:
        if len(arguments) != 2 or arguments[1] is not Ellipsis:
            raise UnsupportedField(f"{where}: only `tuple[X, ...]` tuples can be stored")
        item_encode, item_decode = _converters(arguments[0], _nested(dialect), where)
        if dialect.native_nesting:
            return (
                lambda items: [item_encode(item) for item in items],
                lambda raw: tuple(item_decode(item) for item in raw),
            )
        return (
            lambda items: json.dumps([item_encode(item) for item in items]),
            lambda raw: tuple(item_decode(item) for item in json.loads(raw)),
        )
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        nested = Codec(hint, _nested(dialect))
        if dialect.native_nesting:
            return nested.encode, nested.decode
        return (
            lambda value: json.dumps(nested.encode(value)),
            lambda raw: nested.decode(json.loads(raw)),
        )
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        enum_type = hint
        return (lambda member: member.value), (lambda raw: enum_type(raw))
    if hint is bool:
        if dialect.native_bool:
            return _same, bool
        return int, bool
    if hint is datetime:
        if dialect.native_datetime:
            return to_utc_millis, _as_utc
        return to_millis, from_millis
    if hint is bytes:
        if dialect is _JSON:
            return _b64_encode, _b64_decode
        return _same, bytes
    if hint in (str, int, float):
        return _same, _same
    raise UnsupportedField(f"{where}: {hint!r} cannot be stored")


def _nested(dialect: Dialect) -> Dialect:
    # SQLite keeps nested values as JSON text; MongoDB nests natively.
    return dialect if dialect.native_nesting and dialect is not _JSON else _JSON


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def _same(value: Any) -> Any:
    return value


def _as_utc(moment: datetime) -> datetime:
    # The driver may hand back naive UTC datetimes or its own tzinfo.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _b64_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
