"""`Listing`: an organization's appliances as the dashboard lists them, kept ready to answer.

The appliance list is the hub's most read answer: every open dashboard loads it, and an
organization may hold thousands of appliances whose statuses change all the time (a reconnect
storm changes every one of them). Encoding 5,000 views per request costs ~100 ms of the one
event loop, so the listing keeps each appliance's JSON encoded as it changes (one encoding per
change, not per read), the order by name computed once per change of a name or of who is in
it, and the whole array built once per change and shared by every read until the next one.

It is a mapping of id to `ApplianceView` (what the organization's actor reads and writes), plus
`ordered()`, `json_array()` and `document()` for the readers. `document(gzipped=True)` is the
API's answer compressed once per change: 5,000 appliances are ~1.4 MB of JSON, which Tornado's
per-response compression would deflate again for every reader (~30 ms of the loop each), and
which uncompressed takes most of a request's time to move.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Iterator, MutableMapping

from mykerio.appliances.view import ApplianceView


def view_json(view: ApplianceView) -> bytes:
    """One appliance as the API answers it (compact JSON, UTF-8)."""
    return json.dumps(dataclasses.asdict(view), separators=(",", ":"), ensure_ascii=False).encode()


# Level 1: a tenth of the plain size for this repetitive JSON at a fifth of level 6's time; the
# document is compressed again after every change, which a storm makes constant.
GZIP_LEVEL = 1


def _order_key(view: ApplianceView) -> tuple[str, str]:
    return view.name.casefold(), view.id


class Listing(MutableMapping[str, ApplianceView]):
    """Appliances by id, with their encoded JSON and their order by name kept current."""

    def __init__(self) -> None:
        self._views: dict[str, ApplianceView] = {}
        self._encoded: dict[str, bytes] = {}
        self._order: list[str] | None = None  # ids by name; None: to be sorted again
        self._array: bytes | None = None  # the JSON array of all; None: to be built again
        self._gzipped: bytes | None = None  # `document()` compressed; None: to be built again

    def __getitem__(self, appliance_id: str) -> ApplianceView:
        return self._views[appliance_id]

    def __setitem__(self, appliance_id: str, view: ApplianceView) -> None:
        if view.id != appliance_id:
            raise ValueError(f"the view of {view.id} stored as {appliance_id}")
        old = self._views.get(appliance_id)
        if old == view:
            return  # a repeated report: nothing to encode again
        self._views[appliance_id] = view
        self._encoded[appliance_id] = view_json(view)
        if old is None or old.name != view.name:
            self._order = None
        self._changed()

    def __delitem__(self, appliance_id: str) -> None:
        del self._views[appliance_id]
        del self._encoded[appliance_id]
        self._order = None
        self._changed()

    def _changed(self) -> None:
        self._array = None
        self._gzipped = None

    def __iter__(self) -> Iterator[str]:
        return iter(self._views)

    def __len__(self) -> int:
        return len(self._views)

    def ordered(self) -> list[ApplianceView]:
        """The appliances by name (then id)."""
        return [self._views[appliance_id] for appliance_id in self._ids_by_name()]

    def json_array(self) -> bytes:
        """All appliances by name as one JSON array (shared until the next change)."""
        if self._array is None:
            encoded = self._encoded
            self._array = b"[" + b",".join(encoded[i] for i in self._ids_by_name()) + b"]"
        return self._array

    def document(self, gzipped: bool = False) -> bytes:
        """The API's answer, `{"appliances": [...]}`, plain or gzip-compressed (the compressed
        form made once per change and shared, with a fixed time stamp so equal lists compress to
        equal bytes)."""
        plain = b'{"appliances":' + self.json_array() + b"}"
        if not gzipped:
            return plain
        if self._gzipped is None:
            self._gzipped = gzip.compress(plain, compresslevel=GZIP_LEVEL, mtime=0)
        return self._gzipped

    def _ids_by_name(self) -> list[str]:
        if self._order is None:
            views = self._views
            self._order = sorted(views, key=lambda appliance_id: _order_key(views[appliance_id]))
        return self._order
