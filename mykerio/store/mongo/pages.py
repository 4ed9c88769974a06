"""Newest-first pages of time-stamped documents (`at`, `_id`): the audit and the activity log.

The MongoDB twin of `mykerio.store.sqlite.pages`: equality conditions, a time window and a
keyset cursor `(at, id)` become one `$and` filter; the caller sorts by `at` then `_id`, both
descending, so pages neither repeat nor skip documents with equal times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mykerio.store.mongo.indexes import Document
from mykerio.store.values import to_utc_millis


@dataclass(slots=True)
class PageFilter:
    """Conditions gathered for one page; `filter` gives the query document."""

    conditions: list[Document] = field(default_factory=list)

    def equal(self, name: str, value: Any | None) -> PageFilter:
        """Only documents whose `name` is `value` (no condition when `value` is None)."""
        if value is not None:
            self.conditions.append({name: value})
        return self

    def one_of(self, name: str, values: Sequence[Any]) -> PageFilter:
        """Only documents whose `name` is one of `values`."""
        self.conditions.append({name: {"$in": list(values)}})
        return self

    def window(self, since: datetime | None, until: datetime | None) -> PageFilter:
        """Only documents with `since <= at < until` (either bound may be None)."""
        if since is not None:
            self.conditions.append({"at": {"$gte": to_utc_millis(since)}})
        if until is not None:
            self.conditions.append({"at": {"$lt": to_utc_millis(until)}})
        return self

    def filter(self, before: tuple[datetime, str] | None) -> Document:
        """The query document for documents older than `before` (all when None)."""
        conditions = list(self.conditions)
        if before is not None:
            at, item_id = to_utc_millis(before[0]), before[1]
            conditions.append({"$or": [{"at": {"$lt": at}}, {"at": at, "_id": {"$lt": item_id}}]})
        return {"$and": conditions} if conditions else {}
