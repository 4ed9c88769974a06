"""Paging and date filters shared by the API's newest-first lists (audit, activity, status
history): the `limit` argument, ISO 8601 bounds, and opaque keyset cursors over `(at, id)`."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from mykerio.errors import InvalidInput

MAX_LIMIT = 200


class Keyed(Protocol):
    """A listed item: lists are ordered by its time, ties by its id."""

    @property
    def at(self) -> datetime: ...

    @property
    def id(self) -> str: ...


K = TypeVar("K", bound=Keyed)


def when(text: str, name: str) -> datetime | None:
    """An ISO 8601 date or time argument (UTC when it names no offset), or None if empty."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 date or time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def page_limit(text: str, default: int = 50) -> int:
    """The `limit` argument: 1 to `MAX_LIMIT` items per page."""
    try:
        limit = int(text) if text else default
    except ValueError:
        raise InvalidInput("limit must be a number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def encode_cursor(item: Keyed) -> str:
    """An opaque cursor pointing just after `item`."""
    return base64.urlsafe_b64encode(f"{item.at.isoformat()}|{item.id}".encode()).decode()


def lookahead(limit: int) -> int:
    """How many items to ask for: one more than a page, to tell whether another page follows."""
    return limit + 1


def page_of(items: Sequence[K], limit: int) -> tuple[Sequence[K], str]:
    """The first `limit` of `items` (fetched with `lookahead(limit)`) and the next page's cursor:
    after the page's last item when more follow, "" when nothing is older."""
    page = items[:limit]
    return page, encode_cursor(page[-1]) if len(items) > limit else ""


def decode_cursor(cursor: str) -> tuple[datetime, str] | None:
    """The (time, id) a cursor points after, or None for the first page."""
    if not cursor:
        return None
    try:
        at_text, _, item_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at_text), item_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor is not valid; start from the first page") from None
