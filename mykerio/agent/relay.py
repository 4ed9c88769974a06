"""The simulator's SMTP relay: "MyKerio notification service" (guide 3.3, 5.1).

Kerio Control's Remote Services → SMTP Relay (Kerio Operator's Advanced Options → General →
Email service) chooses between the appliance's own SMTP server and MyKerio. With MyKerio the
appliance sends its alerts through the hub (`relay_email`, docs/protocol.md 9.9), paired or
not, and writes the hub's answer for each recipient to its debug log word for word, as the
guide's examples show: `[07/Aug/2018 15:29:57] {MyKerio} Operation failed Recipient …`.

"Test" sends a test email to one address and shows success or the refusal. The alerts are the
appliance's own: every status knob switched on (low memory, licence expired, …) mails the alert
recipients. It plugs into each `Session` as a hook that also works while waiting to be added.
"""

from __future__ import annotations

import asyncio
import base64
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import structlog

from mykerio.agent.profile import Profile
from mykerio.clock import Clock, SystemClock
from mykerio.protocol.envelope import Envelope, JsonValue
from mykerio.protocol.relay import FEATURE
from mykerio.protocol.status import KNOB_NAMES, MAJOR_REASONS, MINOR_REASONS, Knobs

if TYPE_CHECKING:
    from mykerio.agent.session import Session

Service = Literal["mykerio", "smtp"]
MESSAGE_TYPES = frozenset({"relay_result"})
ANSWER_TIMEOUT = 15.0
DEBUG_LINES = 500
NOT_CONNECTED = "MyKerio is not connected. Check the connection to MyKerio and try again."
NO_ANSWER = "MyKerio did not answer. Try again later."
NOT_OFFERED = "This MyKerio hub does not offer the notification service."
OWN_SMTP = "The SMTP relay is set to the appliance's own SMTP server, not MyKerio."
_TITLES = {**MAJOR_REASONS, **MINOR_REASONS}

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The relay's answer for one recipient as the appliance shows it."""

    address: str
    accepted: bool
    message: str  # the hub's words ("" when accepted), or the appliance's own problem


class ApplianceRelay:
    """The appliance's SMTP relay setting, its Test button, its alerts and its debug log."""

    message_types = MESSAGE_TYPES
    pairing_message_types = MESSAGE_TYPES

    def __init__(
        self,
        profile: Profile,
        name: Callable[[], str],
        clock: Clock | None = None,
        *,
        service: Service = "mykerio",
        alert_recipients: Sequence[str] = (),
        from_address: str = "",
    ) -> None:
        self._profile = profile
        self._name = name
        self._clock = clock or SystemClock()
        self.service: Service = service
        self.alert_recipients: tuple[str, ...] = tuple(alert_recipients)
        self.from_address = from_address
        self.debug_log: deque[str] = deque(maxlen=DEBUG_LINES)
        self.last_test: Outcome | None = None
        self._session: Session | None = None
        self._waiting: dict[str, asyncio.Future[Mapping[str, JsonValue]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # Session hook.
    def pairing(self, session: Session) -> None:
        """Waiting to be added: the relay works already."""
        self._session = session

    def linked(self, session: Session) -> None:
        """Linked: the relay works."""
        self._session = session

    def unlinked(self) -> None:
        """The connection went: answers still awaited will not come."""
        self._session = None
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionError(NOT_CONNECTED))
        self._waiting.clear()

    def message(self, session: Session, envelope: Envelope) -> None:
        """A `relay_result`: settle the email it answers."""
        future = self._waiting.pop(envelope.re or "", None)
        if future is not None and not future.done():
            future.set_result(envelope.body)

    # What the administrator does.
    async def test(self, address: str) -> Outcome:
        """The "Test" button: a test email to `address`; its outcome (also `last_test`)."""
        product = self._profile.title
        subject = f"{product} test email"
        text = (
            f"This is a test email from {product} {self._name()}, sent through the MyKerio "
            "notification service.\n"
        )
        [outcome] = await self.send((address,), subject, text, test=True) or [
            Outcome(address, False, NOT_CONNECTED)
        ]
        self.last_test = outcome
        return outcome

    async def send(
        self,
        to: Sequence[str],
        subject: str,
        text: str,
        *,
        test: bool = False,
        attachments: Sequence[tuple[str, str, bytes]] = (),
    ) -> list[Outcome]:
        """Send one email through MyKerio (`attachments`: name, media type, bytes, such as a
        statistics report); the outcome for each recipient (logged)."""
        if self.service != "mykerio":
            return [Outcome(address, False, OWN_SMTP) for address in to]
        session = self._session
        if session is None:
            return self._failed(to, NOT_CONNECTED)
        if FEATURE not in session.features:
            return self._failed(to, NOT_OFFERED)
        body: dict[str, JsonValue] = {"to": list(to), "subject": subject, "text": text}
        if self.from_address:
            body["reply_to"] = self.from_address
        if test:
            body["test"] = True
        if attachments:
            body["attachments"] = [
                {"name": name, "content_type": kind, "data": base64.b64encode(data).decode()}
                for name, kind, data in attachments
            ]
        envelope = Envelope.new("relay_email", body)
        future: asyncio.Future[Mapping[str, JsonValue]] = asyncio.get_running_loop().create_future()
        self._waiting[envelope.id] = future
        if not session.send_admitted(envelope):
            self._waiting.pop(envelope.id, None)
            return self._failed(to, NOT_CONNECTED)
        self._debug(f"Sending email to {', '.join(to)}")
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT):
                answer = await future
        except TimeoutError:
            self._waiting.pop(envelope.id, None)
            return self._failed(to, NO_ANSWER)
        except ConnectionError:
            return self._failed(to, NOT_CONNECTED)
        return self._outcomes(answer)

    def knobs_changed(self, before: Knobs, after: Knobs) -> None:
        """Mail an alert for each knob switched on (to the alert recipients, if any)."""
        if not self.alert_recipients or self.service != "mykerio":
            return
        for knob in KNOB_NAMES:
            if getattr(after, knob) and not getattr(before, knob):
                title = _TITLES.get(knob, knob.replace("_", " ").capitalize())
                subject = f"{self._profile.title} {self._name()}: {title}"
                text = f"{self._profile.title} {self._name()} reports: {title}.\n"
                task = asyncio.get_running_loop().create_task(self._alert(subject, text))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    # Inside.
    async def _alert(self, subject: str, text: str) -> None:
        await self.send(self.alert_recipients, subject, text)

    def _outcomes(self, answer: Mapping[str, JsonValue]) -> list[Outcome]:
        results = answer.get("results")
        outcomes = []
        for item in (
            results if isinstance(results, Sequence) and not isinstance(results, str) else ()
        ):
            if not isinstance(item, Mapping):
                continue
            address, accepted = str(item.get("address", "")), item.get("accepted") is True
            message = str(item.get("message", ""))
            outcomes.append(Outcome(address, accepted, message))
            if accepted:
                self._debug(f"Email to {address} accepted")
            else:
                self._debug(f"Operation failed {message}")
        return outcomes

    def _failed(self, to: Sequence[str], message: str) -> list[Outcome]:
        self._debug(f"Operation failed {message}")
        return [Outcome(address, False, message) for address in to]

    def _debug(self, text: str) -> None:
        """One debug log line in Kerio's form: `[07/Aug/2018 15:29:57] {MyKerio} …`."""
        at = self._clock.now().strftime("%d/%b/%Y %H:%M:%S")
        self.debug_log.append(f"[{at}] {{MyKerio}} {text}")
