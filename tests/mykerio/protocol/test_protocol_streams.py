"""Protocol v2 streams: frames, stream life, credit flow control, fairness and the control lane.

Two `StreamMux`es, a hub's and an appliance's, are wired back to back by `Wire`, which carries
what one side writes to the other exactly as a socket would (control messages and frames in the
order they were written), encoding and decoding every frame on the way.
"""

from __future__ import annotations

import pytest

from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.features import check_offered, negotiate_features
from mykerio.protocol.frames import (
    HEADER_BYTES,
    MAX_PAYLOAD,
    DataFrame,
    decode_frame,
    encode_frame,
)
from mykerio.protocol.streams import (
    Control,
    CreditGranted,
    DataReceived,
    Event,
    StreamAccepted,
    StreamClosed,
    StreamEnded,
    StreamMux,
    StreamOpened,
    StreamRefused,
    StreamReset,
    StreamState,
    check_control,
)


class Wire:
    """Moves everything `sender` has to write into `receiver`, control first, like the socket."""

    def __init__(self, hub: StreamMux, appliance: StreamMux) -> None:
        self.ends = {"hub": hub, "appliance": appliance}
        self.written: dict[str, list[Control | DataFrame]] = {"hub": [], "appliance": []}

    def flush(self, side: str, max_frames: int | None = None) -> list[Event]:
        """Deliver what `side` would write now; the receiver's events."""
        sender = self.ends[side]
        receiver = self.ends["appliance" if side == "hub" else "hub"]
        events: list[Event] = []
        frames = 0
        while True:
            control = sender.next_control()
            if control is not None:
                self.written[side].append(control)
                check_control(control.type, control.body)
                events += receiver.receive_control(control.type, control.body)
                continue
            if max_frames is not None and frames >= max_frames:
                return events
            frame = sender.next_data()
            if frame is None:
                return events
            frames += 1
            self.written[side].append(frame)
            events += receiver.receive_frame(decode_frame(encode_frame(frame)))


def _pair(**options: int) -> tuple[StreamMux, StreamMux, Wire]:
    hub = StreamMux("hub", **options)
    appliance = StreamMux("appliance", **options)
    return hub, appliance, Wire(hub, appliance)


def _received(events: list[Event], stream_id: int) -> bytes:
    return b"".join(
        e.data for e in events if isinstance(e, DataReceived) and e.stream_id == stream_id
    )


def test_a_frame_round_trips_and_a_bad_header_is_refused() -> None:
    frame = DataFrame(7, b"\x00\xffbackup", fin=True)
    wire = encode_frame(frame)
    assert len(wire) == HEADER_BYTES + 8
    assert decode_frame(wire) == frame
    assert decode_frame(encode_frame(DataFrame(2, b""))) == DataFrame(2, b"")
    bad = {
        "short": wire[:5],
        "stream 0": b"\x00\x00\x00\x00" + wire[4:],
        "reserved flag": wire[:4] + b"\x02" + wire[5:],
        "length too long": wire[:-1],
        "length too short": wire + b"x",
        "over the limit": (1).to_bytes(4, "big") + b"\x00" + (MAX_PAYLOAD + 1).to_bytes(3, "big"),
    }
    for case, data in bad.items():
        with pytest.raises(ProtocolError) as refused:
            decode_frame(data)
        assert refused.value.code == "bad_frame", case


def test_a_stream_opens_carries_bytes_both_ways_and_closes() -> None:
    hub, appliance, wire = _pair()
    stream_id = appliance.open("backups", {"size": 11})
    assert stream_id % 2 == 1
    opened = wire.flush("appliance")
    assert opened == [StreamOpened(stream_id, "backups", {"size": 11})]
    hub.accept(stream_id)
    assert wire.flush("hub") == [StreamAccepted(stream_id)]

    appliance.send(stream_id, b"hello ")
    appliance.send(stream_id, b"world")
    appliance.close(stream_id)
    events = wire.flush("appliance")
    assert _received(events, stream_id) == b"hello world"
    assert StreamEnded(stream_id) in events
    assert hub.state(stream_id) is StreamState.OPEN  # the hub may still answer

    hub.send(stream_id, b"stored")
    hub.close(stream_id)
    events = wire.flush("hub")
    assert _received(events, stream_id) == b"stored"
    assert events[-1] == StreamClosed(stream_id)
    assert hub.open_streams() == appliance.open_streams() == 0


def test_the_hub_opens_even_ids_and_a_refusal_ends_the_stream() -> None:
    hub, _appliance, wire = _pair()
    first, second = hub.open("tunnel"), hub.open("tunnel")
    assert (first, second) == (2, 4)
    opened = wire.flush("hub")
    assert [e.stream_id for e in opened if isinstance(e, StreamOpened)] == [2, 4]
    _appliance.refuse(2, "unsupported")
    _appliance.accept(4)
    events = wire.flush("appliance")
    assert events == [StreamRefused(2, "unsupported"), StreamAccepted(4)]
    assert hub.state(2) is StreamState.CLOSED
    with pytest.raises(ValueError, match="not open"):
        hub.send(2, b"x")


def test_a_sender_never_exceeds_its_credit_and_the_reader_grants_more() -> None:
    hub, appliance, wire = _pair(window=1000, max_payload=300)
    stream_id = appliance.open("backups")
    wire.flush("appliance")
    hub.accept(stream_id)
    wire.flush("hub")
    appliance.send(stream_id, bytes(5000))

    events = wire.flush("appliance")
    assert len(_received(events, stream_id)) == 1000  # exactly the window, in frames of 300
    sizes = [len(f.payload) for f in wire.written["appliance"] if isinstance(f, DataFrame)]
    assert sizes == [300, 300, 300, 100]
    assert appliance.next_data() is None
    assert appliance.queued_bytes(stream_id) == 4000

    hub.consumed(stream_id, 400)  # under half the window: no grant yet
    assert hub.next_control() is None
    hub.consumed(stream_id, 100)
    assert wire.flush("hub") == [CreditGranted(stream_id)]
    assert len(_received(wire.flush("appliance"), stream_id)) == 500


def test_a_stream_accepted_with_its_own_window_gets_that_credit_and_grants_by_half_of_it() -> None:
    """An upload accepted with a bigger window than the mux's may send all of it at once, and
    its credit comes back in halves of its own window, not of the mux's."""
    hub, appliance, wire = _pair(window=1000, max_payload=300)
    stream_id = appliance.open("backups")
    wire.flush("appliance")
    hub.accept(stream_id, 4000)
    wire.flush("hub")
    appliance.send(stream_id, bytes(9000))
    assert len(_received(wire.flush("appliance"), stream_id)) == 4000
    hub.consumed(stream_id, 1999)  # under half of its 4000: no grant yet
    assert hub.next_control() is None
    hub.consumed(stream_id, 1)
    assert wire.flush("hub") == [CreditGranted(stream_id)]
    assert len(_received(wire.flush("appliance"), stream_id)) == 2000
    with pytest.raises(ValueError, match="window"):
        hub.accept(appliance.open("backups"), 0)


def test_a_peer_sending_past_its_credit_loses_that_stream_only() -> None:
    hub, appliance, wire = _pair(window=100)
    good, bad = appliance.open("backups"), appliance.open("backups")
    wire.flush("appliance")
    hub.accept(good)
    hub.accept(bad)
    wire.flush("hub")
    events = hub.receive_frame(DataFrame(bad, bytes(101)))
    assert events == [StreamReset(bad, "flow_control", by_peer=False)]
    assert wire.flush("hub") == [StreamReset(bad, "flow_control", by_peer=True)]
    assert hub.receive_frame(DataFrame(good, b"fine")) == [DataReceived(good, b"fine")]
    # Bytes of the reset stream still in flight are dropped without another reset.
    assert hub.receive_frame(DataFrame(bad, b"late")) == []
    assert hub.next_control() is None


def test_a_full_stream_does_not_hold_up_another_or_the_control_lane() -> None:
    hub, appliance, wire = _pair(window=1000, max_payload=100)
    stuck, moving = appliance.open("backups"), appliance.open("backups")
    wire.flush("appliance")
    hub.accept(stuck)
    hub.accept(moving)
    wire.flush("hub")
    appliance.send(stuck, bytes(10_000))
    wire.flush("appliance")  # the stuck stream's reader consumes nothing from now on
    appliance.send(moving, bytes(600))
    events = wire.flush("appliance")
    assert len(_received(events, moving)) == 600

    # While data waits, a control message written later still goes out first.
    appliance.send(moving, bytes(400))
    appliance.open("backups")
    assert appliance.next_control() is not None


def test_streams_with_data_take_turns() -> None:
    hub, appliance, wire = _pair(window=10_000, max_payload=100)
    ids = [appliance.open("backups") for _ in range(3)]
    wire.flush("appliance")
    for stream_id in ids:
        hub.accept(stream_id)
    wire.flush("hub")
    for stream_id in ids:
        appliance.send(stream_id, bytes(1000))
    order = [appliance.next_data() for _ in range(6)]
    assert [frame.stream_id for frame in order if frame] == ids + ids


def test_more_streams_than_the_cap_are_refused_and_the_link_stays() -> None:
    hub, appliance, wire = _pair(max_streams=2)
    ids = [appliance.open("tunnel") for _ in range(3)]
    events = wire.flush("appliance")
    assert [e.stream_id for e in events if isinstance(e, StreamOpened)] == ids[:2]
    assert wire.flush("hub") == [StreamRefused(ids[2], "too_many_streams")]
    # Once one ends, a new one fits.
    hub.refuse(ids[0], "busy")
    wire.flush("hub")
    again = appliance.open("tunnel")
    assert wire.flush("appliance") == [StreamOpened(again, "tunnel", {})]


def test_a_reset_ends_the_stream_on_both_sides_and_drops_queued_bytes() -> None:
    hub, appliance, wire = _pair(window=10)
    stream_id = appliance.open("backups")
    wire.flush("appliance")
    hub.accept(stream_id)
    wire.flush("hub")
    appliance.send(stream_id, bytes(100))
    assert appliance.reset(stream_id, "cancelled") == [StreamReset(stream_id, "cancelled", False)]
    assert appliance.queued_bytes(stream_id) == 0
    assert wire.flush("appliance") == [StreamReset(stream_id, "cancelled", by_peer=True)]
    assert hub.open_streams() == 0
    # Crossing resets are quiet.
    assert hub.receive_control("stream_reset", {"stream": stream_id, "reason": "cancelled"}) == []


def test_data_for_a_stream_never_opened_is_answered_with_a_reset() -> None:
    hub = StreamMux("hub")
    assert hub.receive_frame(DataFrame(99, b"x")) == []
    control = hub.next_control()
    assert control == Control("stream_reset", {"stream": 99, "reason": "unknown_stream"})


def test_a_peer_reusing_a_stream_id_or_the_wrong_parity_breaks_the_link() -> None:
    hub = StreamMux("hub")
    body = {"stream": 3, "kind": "backups", "window": 10}
    hub.receive_control("stream_open", body)
    for stream_id in (3, 1, 4):
        with pytest.raises(ProtocolError) as broken:
            hub.receive_control("stream_open", {**body, "stream": stream_id})
        assert broken.value.code == "unexpected_message"


def test_credit_past_the_maximum_window_resets_the_stream() -> None:
    hub, appliance, wire = _pair()
    stream_id = appliance.open("backups")
    wire.flush("appliance")
    hub.accept(stream_id)
    wire.flush("hub")
    events = appliance.receive_control("stream_credit", {"stream": stream_id, "bytes": 2**31 - 1})
    assert events == [StreamReset(stream_id, "flow_control", by_peer=False)]


@pytest.mark.parametrize(
    ("type_", "body", "problem"),
    [
        ("stream_open", {"stream": 1, "kind": "backups"}, "window is required"),
        ("stream_open", {"stream": 1, "kind": "Bad", "window": 1}, "kind must be"),
        ("stream_open", {"stream": 0, "kind": "backups", "window": 1}, "stream must be"),
        ("stream_open", {"stream": True, "kind": "backups", "window": 1}, "stream must be"),
        ("stream_open", {"stream": 1, "kind": "a", "window": 1, "meta": []}, "meta must be"),
        ("stream_credit", {"stream": 1, "bytes": 0}, "bytes must be"),
        ("stream_reset", {"stream": 1, "reason": "why"}, "reason must be one of"),
        ("stream_refuse", {"stream": 1, "reason": "cancelled"}, "reason must be one of"),
        ("stream_accept", {"stream": 1, "window": 5, "extra": 1}, "extra is not a field"),
    ],
)
def test_malformed_stream_messages_are_refused_naming_the_field(
    type_: str, body: dict[str, object], problem: str
) -> None:
    with pytest.raises(ProtocolError, match=problem) as refused:
        check_control(type_, body)
    assert refused.value.code == "bad_body"


def test_features_are_negotiated_per_feature_and_unknown_ones_left_out() -> None:
    offered = check_offered({"backups": [1, 2], "tunnel": [1], "teleport": [1], "relay": [9]})
    assert negotiate_features(offered) == {"backups": 1, "tunnel": 1}
    assert negotiate_features(offered, {"backups": (1, 2)}) == {"backups": 2}
    bad_offers: tuple[object, ...] = (
        [],
        {"Backups": [1]},
        {"backups": []},
        {"backups": [0]},
        {"backups": "1"},
        {"backups": [True]},
        {f"f{i}": [1] for i in range(33)},
    )
    for bad in bad_offers:
        with pytest.raises(ProtocolError) as refused:
            check_offered(bad)
        assert refused.value.code == "bad_body"


def test_data_goes_out_in_frames_of_at_most_64_kib_unless_told_otherwise() -> None:
    # A control message waits for at most one frame on the wire: frames stay small by default.
    hub, appliance = StreamMux("hub"), StreamMux("appliance")
    wire = Wire(hub, appliance)
    stream_id = appliance.open("backups")
    wire.flush("appliance")
    hub.accept(stream_id)
    wire.flush("hub")
    appliance.send(stream_id, bytes(300_000))
    wire.flush("appliance")
    sizes = [len(f.payload) for f in wire.written["appliance"] if isinstance(f, DataFrame)]
    assert sum(sizes) == 300_000
    assert max(sizes) + HEADER_BYTES == 64 * 1024
