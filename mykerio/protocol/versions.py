"""Protocol version negotiation: the appliance offers versions in `hello`, the hub picks one.

The hub answers with the highest version both sides speak, carried in `challenge.version`; with
none in common it sends `error` (`unsupported_version`) and closes with 4001.
"""

from __future__ import annotations

from collections.abc import Sequence

from mykerio.protocol.errors import ProtocolError

# 1: JSON messages only. 2: capabilities (`hello.features`), binary frames, streams, liveness
# by WebSocket ping and pong (docs/protocol.md, "Protocol version 2").
PROTOCOL_VERSIONS: tuple[int, ...] = (1, 2)
STREAMS_VERSION = 2  # the first version with binary frames and streams


def negotiate(offered: Sequence[int], supported: Sequence[int] = PROTOCOL_VERSIONS) -> int:
    """The highest version in both `offered` and `supported`; `ProtocolError` when none is."""
    common = set(offered) & set(supported)
    if not common:
        raise ProtocolError(
            "unsupported_version",
            f"no protocol version in common: this hub speaks {_listed(supported)}, "
            f"the appliance offered {_listed(offered) or 'none'}",
        )
    return max(common)


def _listed(versions: Sequence[int]) -> str:
    return ", ".join(str(version) for version in sorted(set(versions)))
