"""Newest-first pages of time-stamped rows (`at`, `id`): the audit and the activity log.

A page is the rows matching some equality conditions and a time window, older than a keyset
cursor `(at, id)`, newest first, at most `limit`. Pages neither repeat nor skip rows, also
among rows with equal times, because the order and the cursor use the same two columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mykerio.store.values import require_positive, to_millis


@dataclass(slots=True)
class PageQuery:
    """Conditions gathered for one page of `table`; `sql` gives the statement and params."""

    table: str
    conditions: list[str] = field(default_factory=list)
    params: list[object] = field(default_factory=list)

    def equal(self, column: str, value: object | None) -> PageQuery:
        """Only rows whose `column` is `value` (no condition when `value` is None)."""
        if value is not None:
            self.conditions.append(f"{column} = ?")
            self.params.append(value)
        return self

    def one_of(self, column: str, values: Sequence[object]) -> PageQuery:
        """Only rows whose `column` is one of `values` (at least one)."""
        self.conditions.append(f"{column} IN ({', '.join('?' * len(values))})")
        self.params.extend(values)
        return self

    def window(self, since: datetime | None, until: datetime | None) -> PageQuery:
        """Only rows with `since <= at < until` (either bound may be None)."""
        if since is not None:
            self.conditions.append("at >= ?")
            self.params.append(to_millis(since))
        if until is not None:
            self.conditions.append("at < ?")
            self.params.append(to_millis(until))
        return self

    def sql(self, *, limit: int, before: tuple[datetime, str] | None) -> tuple[str, list[object]]:
        """The SELECT for at most `limit` rows older than `before`, newest first."""
        require_positive("limit", limit)
        conditions, params = list(self.conditions), list(self.params)
        if before is not None:
            # Row values compare left to right: earlier time, or the same time and a lower id.
            conditions.append("(at, id) < (?, ?)")
            params.extend((to_millis(before[0]), before[1]))
        where = " AND ".join(conditions) or "1"
        # Only fixed column names and placeholders are joined in; values stay parameters.
        query = (
            f"SELECT * FROM {self.table} WHERE {where} "  # noqa: S608
            "ORDER BY at DESC, id DESC LIMIT ?"
        )
        return query, [*params, limit]
