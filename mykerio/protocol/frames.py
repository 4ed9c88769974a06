"""Protocol v2 binary frames: the 8-byte header in front of a stream's raw bytes.

A binary WebSocket message on a version 2 link is one data frame of one stream:

    stream id  u32 big-endian   1 .. 2**31-1 (0 is reserved; odd ids are opened by the
                                appliance, even ids by the hub, so the two never collide)
    flags      u8               bit 0 FIN: the sender sends no more bytes on this stream after
                                these; bits 1-7 are reserved and must be 0
    length     u24 big-endian   the number of payload bytes that follow, 0 .. MAX_PAYLOAD
    payload    length bytes     raw, never base64

The length repeats what the WebSocket frame already says, so that a truncated or padded
message is caught here rather than handed to a stream. Everything that is not bulk data (opening,
accepting, refusing, resetting a stream, granting credit) is a JSON control message
(`mykerio.protocol.streams`).
"""

from __future__ import annotations

from dataclasses import dataclass

from mykerio.protocol.errors import ProtocolError

HEADER_BYTES = 8
# One frame stays under the link's 256 KiB message limit with its header.
MAX_PAYLOAD = 256 * 1024 - HEADER_BYTES
# What a sender puts in one frame unless told otherwise: a control message written while a
# transfer runs waits for at most one frame on the wire, so a frame is kept small (64 KiB with
# its header) -- a quarter of the limit costs little throughput and a quarter of the wait.
DEFAULT_PAYLOAD = 64 * 1024 - HEADER_BYTES
MAX_STREAM_ID = 2**31 - 1
FIN = 0x01
_KNOWN_FLAGS = FIN


@dataclass(frozen=True, slots=True)
class DataFrame:
    """One binary frame: `payload` bytes of stream `stream_id`, the last ones if `fin`."""

    stream_id: int
    payload: bytes
    fin: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.stream_id <= MAX_STREAM_ID:
            raise ValueError(f"stream id must be 1 to {MAX_STREAM_ID}")
        if len(self.payload) > MAX_PAYLOAD:
            raise ValueError(f"a frame carries at most {MAX_PAYLOAD} bytes")


def encode_frame(frame: DataFrame) -> bytes:
    """The frame as one binary WebSocket message."""
    header = (
        frame.stream_id.to_bytes(4, "big")
        + (FIN if frame.fin else 0).to_bytes(1, "big")
        + len(frame.payload).to_bytes(3, "big")
    )
    return header + frame.payload


def decode_frame(message: bytes | bytearray | memoryview) -> DataFrame:
    """A binary WebSocket message as a frame, or `ProtocolError` (`bad_frame`) saying why."""
    data = bytes(message)
    if len(data) < HEADER_BYTES:
        raise ProtocolError("bad_frame", f"a binary frame starts with a {HEADER_BYTES}-byte header")
    stream_id = int.from_bytes(data[0:4], "big")
    flags = data[4]
    length = int.from_bytes(data[5:8], "big")
    if not 1 <= stream_id <= MAX_STREAM_ID:
        raise ProtocolError("bad_frame", f"the stream id must be 1 to {MAX_STREAM_ID}")
    if flags & ~_KNOWN_FLAGS:
        raise ProtocolError("bad_frame", "reserved flag bits must be 0")
    if length > MAX_PAYLOAD:
        raise ProtocolError("bad_frame", f"a frame carries at most {MAX_PAYLOAD} bytes")
    if length != len(data) - HEADER_BYTES:
        raise ProtocolError("bad_frame", "the header's length does not match the frame")
    return DataFrame(stream_id, data[HEADER_BYTES:], bool(flags & FIN))
