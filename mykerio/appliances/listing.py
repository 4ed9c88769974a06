"""`Listing`: an organization's appliances as the dashboard lists them, kept ready to answer.

The appliance list is the hub's most read answer: every open dashboard loads it, and an
organization may hold thousands of appliances whose statuses change all the time (a reconnect
storm changes every one of them). Encoding 5,000 views per request costs ~100 ms of the one
event loop, so the listing keeps each appliance's JSON encoded as it changes (one encoding per
change, not per read), the order by name computed once per change of a name or of who is in
it, and the whole array built once per change and shared by every read until the next one.

It is a mapping of id to `ApplianceView` (what the organization's actor reads and writes), plus
`ordered()`, `json_array()` and `document()` for the readers.

`document(gzipped=True)` is the API's answer compressed: 5,000 appliances are ~1.4 MB of JSON
(~150 KB compressed), which Tornado would deflate again for every reader (~10 ms of the loop
each) and which uncompressed takes most of a request's time to move. It is kept compressed in
chunks of `CHUNK` appliances by name, each an independent run of deflate blocks ended by a
sync flush (no back-reference crosses a chunk, so the chunks join into one valid stream): a
status change recompresses its own chunk (~0.1 ms), not the whole list (~10 ms), which is what
keeps the answer cheap in a reconnect storm, when statuses change hundreds of times a second.
A rename, an addition or a removal moves positions and recompresses every chunk once.
"""

from __future__ import annotations

import dataclasses
import json
import struct
import zlib
from collections.abc import Iterator, MutableMapping

from mykerio.appliances.view import ApplianceView


def view_json(view: ApplianceView) -> bytes:
    """One appliance as the API answers it (compact JSON, UTF-8)."""
    return json.dumps(dataclasses.asdict(view), separators=(",", ":"), ensure_ascii=False).encode()


GZIP_LEVEL = 6
# Appliances per compressed chunk: ~17 KB of JSON, large enough for deflate's window to find the
# repeated keys (the chunks cost ~8 % in size against one stream), small enough that one change
# recompresses little.
CHUNK = 64
_HEAD = b'{"appliances":['
_TAIL = b"]}"
# gzip member header (RFC 1952): deflate, no flags, time stamp 0 (equal lists, equal bytes),
# no extra flags, operating system unknown.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _deflated(plain: bytes, final: bool = False) -> bytes:
    """`plain` as raw deflate blocks of their own: byte-aligned and not final (a sync flush),
    or ending the stream."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    flush = zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH
    return compressor.compress(plain) + compressor.flush(flush)


_DEFLATED_HEAD = _deflated(_HEAD)
_DEFLATED_TAIL = _deflated(_TAIL, final=True)


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
        # Per chunk of `CHUNK` ids by name: its plain JSON (with the comma before it, but for
        # the first) and its deflated form; None: to be compressed again.
        self._chunks: list[tuple[bytes, bytes] | None] = []
        self._position: dict[str, int] = {}  # id → index in `_order`

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
        elif self._order is not None and self._chunks:
            self._chunks[self._position[appliance_id] // CHUNK] = None
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
        if not gzipped:
            return b'{"appliances":' + self.json_array() + b"}"
        if self._gzipped is None:
            self._gzipped = self._compress()
        return self._gzipped

    def _compress(self) -> bytes:
        ids = self._ids_by_name()
        encoded = self._encoded
        crc = zlib.crc32(_HEAD)
        size = len(_HEAD) + len(_TAIL)
        parts = [_GZIP_HEADER, _DEFLATED_HEAD]
        for index, chunk in enumerate(self._chunks):
            if chunk is None:
                start = index * CHUNK
                plain = b",".join(encoded[i] for i in ids[start : start + CHUNK])
                if index:
                    plain = b"," + plain
                chunk = self._chunks[index] = (plain, _deflated(plain))
            crc = zlib.crc32(chunk[0], crc)
            size += len(chunk[0])
            parts.append(chunk[1])
        crc = zlib.crc32(_TAIL, crc)
        parts.append(_DEFLATED_TAIL)
        parts.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
        return b"".join(parts)

    def _ids_by_name(self) -> list[str]:
        if self._order is None:
            views = self._views
            self._order = sorted(views, key=lambda appliance_id: _order_key(views[appliance_id]))
            self._position = {appliance_id: at for at, appliance_id in enumerate(self._order)}
            self._chunks = [None] * -(-len(self._order) // CHUNK)
        return self._order
