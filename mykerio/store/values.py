"""Rules for values entering a store, shared by both adapters.

Datetimes must be timezone-aware; stores keep them as UTC at millisecond precision, the
precision MongoDB has. Counts such as `keep` and `limit` must be positive; sets given as
tuples (backup code hashes) must not repeat an item.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from mykerio.errors import InvalidInput

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MILLISECOND = timedelta(milliseconds=1)


def to_millis(moment: datetime) -> int:
    """Whole milliseconds since the Unix epoch; `InvalidInput` for a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"datetime {moment.isoformat()} has no timezone")
    return (moment - EPOCH) // ONE_MILLISECOND


def from_millis(millis: int) -> datetime:
    """The UTC datetime `millis` milliseconds after the Unix epoch (exact, no float)."""
    return EPOCH + millis * ONE_MILLISECOND


def to_utc_millis(moment: datetime) -> datetime:
    """`moment` in UTC, truncated to milliseconds; `InvalidInput` for a naive datetime."""
    return from_millis(to_millis(moment))


def require_positive(name: str, count: int) -> int:
    """`count` itself, or `InvalidInput` if it is below 1."""
    if count < 1:
        raise InvalidInput(f"{name} must be at least 1, got {count}")
    return count


def require_distinct(name: str, items: Sequence[str]) -> None:
    """`InvalidInput` if an item occurs in `items` more than once."""
    if len(set(items)) != len(items):
        raise InvalidInput(f"{name} must not repeat")
