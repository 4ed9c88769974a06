"""The streams of linked version 2 appliances, by appliance id: where a feature opens one.

A linked v2 socket registers its `StreamLink` here with the features it negotiated, and takes
it back when it closes. `open` refuses a kind whose feature the appliance did not declare:
nothing of a feature goes to an appliance that does not have it. Streams an appliance opens go
to the handler the composition root `serve`s for their kind (backup uploads: the backups
actor), or are refused as `unsupported`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mykerio.errors import Conflict, NotFound
from mykerio.protocol.features import STREAM_KINDS
from mykerio.protocol.stream_link import Stream, StreamLink, Write, envelope_control
from mykerio.protocol.streams import StreamMux

# A feature's handler of a stream an appliance opened: (appliance id, its link, the stream,
# the stream's `meta`); it must accept or refuse the stream (at once, or by a message to the
# actor that owns the feature).
StreamHandler = Callable[[str, StreamLink, Stream, Mapping[str, object]], None]


class ApplianceStreams:
    """The stream links of the linked v2 appliances of this hub process."""

    def __init__(self) -> None:
        self._links: dict[str, tuple[StreamLink, Mapping[str, int]]] = {}
        self._handlers: dict[str, StreamHandler] = {}

    def serve(self, kind: str, handler: StreamHandler) -> None:
        """Streams of `kind` that appliances open go to `handler` (the composition root says
        which actor takes them); on links that negotiated the kind's feature only."""
        if kind not in STREAM_KINDS:
            raise ValueError(f"no feature has {kind} streams")
        self._handlers[kind] = handler

    def start(self, appliance_id: str, features: Mapping[str, int], write: Write) -> StreamLink:
        """A v2 appliance is linked: its socket's stream link, started and registered (a newer
        connection replaces an older one)."""

        def opened(stream: Stream, meta: Mapping[str, object]) -> None:
            handler = self._handlers.get(stream.kind)
            if handler is None or STREAM_KINDS[stream.kind] not in features:
                link.refuse(stream, "unsupported")
            else:
                handler(appliance_id, link, stream, meta)

        link = StreamLink(StreamMux("hub"), write, on_open=opened, encode_control=envelope_control)
        link.start()
        self._links[appliance_id] = (link, features)
        return link

    def discard(self, appliance_id: str, link: StreamLink) -> None:
        """Its socket closed (a newer one may have registered already: that one stays)."""
        known = self._links.get(appliance_id)
        if known is not None and known[0] is link:
            del self._links[appliance_id]

    def features(self, appliance_id: str) -> Mapping[str, int]:
        """The features a linked v2 appliance uses (empty when not linked with version 2)."""
        known = self._links.get(appliance_id)
        return known[1] if known is not None else {}

    def open(
        self, appliance_id: str, kind: str, meta: Mapping[str, object] | None = None
    ) -> Stream:
        """Open a stream of `kind` to the appliance; `await stream.accepted()` before use."""
        known = self._links.get(appliance_id)
        if known is None:
            raise NotFound("The appliance is not connected with protocol version 2.")
        link, features = known
        feature = STREAM_KINDS.get(kind)
        if feature is None or feature not in features:
            raise Conflict(f"The appliance did not declare the feature of {kind} streams.")
        return link.open(kind, meta)
