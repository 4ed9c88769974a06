"""What crosses into the relay actor and back: one submitted email and the relay's answer.

Also the answer's wire form (`relay_result`, docs/protocol.md 9.9), the headers a relayed
email goes out with, and what the dashboard shows of a sender.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.headerregistry import Address

from mykerio.mail.message import Attachment
from mykerio.protocol.envelope import JsonValue
from mykerio.relay.rules import QUOTA, SOURCE_QUOTA, Verdict


@dataclasses.dataclass(frozen=True, slots=True)
class RelaySubmission:
    """One email an appliance's key submitted (`org_id` empty: the key is in no organization)."""

    key_id: str
    appliance_name: str
    org_id: str
    source_ip: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str = ""
    reply_to: str = ""
    test: bool = False
    attachments: tuple[Attachment, ...] = ()

    @classmethod
    def from_body(
        cls,
        body: Mapping[str, JsonValue],
        *,
        key_id: str,
        appliance_name: str,
        org_id: str,
        source_ip: str,
    ) -> RelaySubmission:
        """The submission of a checked `relay_email` body."""
        to = body["to"]
        assert isinstance(to, Sequence)
        assert not isinstance(to, str)
        return cls(
            key_id=key_id,
            appliance_name=appliance_name,
            org_id=org_id,
            source_ip=source_ip,
            to=tuple(str(address) for address in to),
            subject=str(body["subject"]),
            text=str(body["text"]),
            html=str(body.get("html", "")),
            reply_to=str(body.get("reply_to", "")),
            test=body.get("test") is True,
            attachments=tuple(
                Attachment(
                    str(item["name"]),
                    str(item["content_type"]),
                    base64.b64decode(str(item["data"])),
                )
                for item in _objects(body.get("attachments", ()))
            ),
        )


def _objects(value: JsonValue) -> list[Mapping[str, JsonValue]]:
    """The objects of a checked list field."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [item for item in value if isinstance(item, Mapping)]
    return []


@dataclasses.dataclass(frozen=True, slots=True)
class RelayAnswer:
    """Each recipient's verdict and the sender's quota after the submission."""

    verdicts: tuple[Verdict, ...]
    used: int
    limit: int
    resets_at: datetime | None

    def body(self) -> dict[str, JsonValue]:
        """The `relay_result` body."""
        results: list[JsonValue] = []
        for verdict in self.verdicts:
            result: dict[str, JsonValue] = {
                "address": verdict.address,
                "accepted": verdict.accepted,
            }
            if not verdict.accepted:
                result["message"] = verdict.message
            results.append(result)
        quota: dict[str, JsonValue] = {"used": self.used, "limit": self.limit}
        if self.resets_at is not None:
            quota["resets_at"] = self.resets_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"results": results, "quota": quota}


def unavailable_body(to: tuple[str, ...]) -> dict[str, JsonValue]:
    """The `relay_result` body when the relay cannot answer now (nothing counted or queued)."""
    results: list[JsonValue] = [
        {
            "address": address,
            "accepted": False,
            "message": f"Email to {address} rejected. MyKerio notification service is "
            "temporarily unavailable; try again later.",
        }
        for address in dict.fromkeys(to)
    ]
    return {"results": results, "quota": {"used": 0, "limit": QUOTA}}


@dataclasses.dataclass(frozen=True, slots=True)
class RelaySettings:
    """The `[relay]` settings the relay actor needs: who relayed mail is from."""

    from_address: str = "relay@localhost"
    from_name: str = "{appliance} via MyKerio"
    quota: int = QUOTA
    source_quota: int = SOURCE_QUOTA

    def from_header(self, appliance_name: str) -> str:
        """`"<appliance> via MyKerio" <relay address>`: the hub's address, the appliance named."""
        display = self.from_name.replace("{appliance}", appliance_name)
        local, _, domain = self.from_address.rpartition("@")
        return str(Address(display_name=display, username=local, domain=domain))


@dataclasses.dataclass(frozen=True, slots=True)
class BlacklistedRecipient:
    """A blacklisted address as a sender's view shows it."""

    address: str
    release_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class RelaySenderView:
    """What the dashboard shows of one appliance's relaying."""

    used: int
    limit: int
    window_started_at: datetime | None
    resets_at: datetime | None
    sent_total: int
    refused: tuple[tuple[str, int], ...]  # (reason, count)
    blacklisted: tuple[BlacklistedRecipient, ...]
    refused_altogether: bool


@dataclasses.dataclass(frozen=True, slots=True)
class RelayAppliance:
    """An appliance of an organization that may relay, and the key it relays with."""

    appliance_id: str
    name: str
    product: str
    key_id: str
