"""The life of one appliance connection: timings, send-queue bounds and reconnect delays.

These numbers are part of the protocol (docs/protocol.md, "Liveness" and "Reconnecting"): the
hub drives pings and deadlines with them, the appliance its reconnects. Times are seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from mykerio.protocol.errors import CloseCode

SOCKET_PATH = "/appliance/v1/socket"
PING_INTERVAL = 30.0
SILENCE_LIMIT = 90.0
HANDSHAKE_TIMEOUT = 10.0
REMOVE_CLOSE_DEADLINE = 5.0
SEND_QUEUE_MESSAGES = 64
SEND_QUEUE_BYTES = 1024 * 1024

MESSAGE_BURST = 120
MESSAGE_RATE = 10.0

FIRST_DELAY_MAX = 5.0
BACKOFF_BASE = 5.0
BACKOFF_CAP = 300.0
STABLE_AFTER = 60.0

ReconnectPolicy = Literal["backoff", "at_cap", "never"]

# After these the appliance stays disconnected until its user acts (re-enable, pair again).
_NEVER = frozenset({CloseCode.REVOKED_KEY, CloseCode.REFUSED, CloseCode.REMOVED})
# These will not heal by retrying soon (a fix or an upgrade must come first).
_AT_CAP = frozenset(
    {CloseCode.PROTOCOL_ERROR, CloseCode.UNSUPPORTED_VERSION, CloseCode.TOO_MANY_MESSAGES}
)


def send_queue_full(messages: int, size: int) -> bool:
    """Whether a send queue of `messages` messages and `size` bytes (the next one counted) is
    over the bound: the side that would queue it closes with 4008 instead (on version 2 the
    bound is on the control lane; stream data is bounded by credit)."""
    return messages > SEND_QUEUE_MESSAGES or size > SEND_QUEUE_BYTES


def reconnect_delay(attempt: int, uniform: Callable[[], float]) -> float:
    """Seconds to wait before reconnect attempt number `attempt` (0 is the first after a drop).

    `uniform` returns a float in [0, 1) (`random.random`; tests pass their own). The first
    attempt waits 0-5 s so a hub restart is not met by every appliance at once; then the ceiling
    doubles from 5 s up to 300 s, and the wait is anywhere from 0 to the ceiling ("full
    jitter"): with "half to all of it" the failed attempts of a storm stay bunched together
    wave after wave, with full jitter they spread over the whole window.
    """
    if attempt < 0:
        raise ValueError("attempts count from 0")
    if attempt == 0:
        return FIRST_DELAY_MAX * uniform()
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(attempt - 1, 32))
    return ceiling * uniform()


def retry_after_delay(retry_after: float, uniform: Callable[[], float]) -> float:
    """Seconds to wait after the hub refused an upgrade with `503` and `Retry-After` seconds
    (docs/protocol.md, section 6): that long, capped, plus up to one second of the appliance's
    own jitter (the header has whole seconds, so appliances told the same number would
    otherwise come back in the same instant)."""
    return min(BACKOFF_CAP, max(0.0, retry_after)) + uniform()


def reconnect_policy(close_code: int) -> ReconnectPolicy:
    """How an appliance reconnects after the hub closed with `close_code`.

    `backoff`: the usual delays; `at_cap`: wait `BACKOFF_CAP` each time; `never`: stay
    disconnected until the user acts.
    """
    if close_code in _NEVER:
        return "never"
    return "at_cap" if close_code in _AT_CAP else "backoff"


class MessageBudget:
    """A token bucket: how many more messages one connection may send right now.

    It holds up to `burst` tokens and gains `rate` a second; each message takes one. Times are
    the caller's monotonic seconds (the hub's clock), so it has no clock of its own.
    """

    def __init__(self, burst: int, rate: float, now: float) -> None:
        if burst < 1 or rate <= 0:
            raise ValueError("a message budget needs a burst of at least 1 and a positive rate")
        self._burst = float(burst)
        self._rate = rate
        self._tokens = float(burst)
        self._at = now

    def take(self, now: float) -> bool:
        """Spend one token for a message arriving at `now`; False if none is left."""
        if now > self._at:
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
