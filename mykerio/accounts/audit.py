"""The access audit: every login, logout and failed login, and who may read which records.

A user reads their own records; a member of an organization reads the records of everyone in
it. Records older than the retention period are deleted by `prune`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from datetime import datetime

from mykerio.accounts.context import Client
from mykerio.accounts.policy import AccountPolicy
from mykerio.accounts.validation import FieldError
from mykerio.clock import Clock
from mykerio.errors import InvalidInput, NotFound
from mykerio.models import AccessEvent, new_id
from mykerio.store.base import Store

ACTIONS = ("login", "logout", "login_failed")
MAX_PAGE = 201  # a page of 200 and one more, to tell whether another page follows
SCAN_BATCH = 500
"""Events read per store query while filtering by a network prefix."""

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def ip_filter(text: str) -> str | IpNetwork | None:
    """What the audit's IP filter asks for: None (any), one address (compared exactly, in its
    canonical form) or a network prefix such as 192.0.2.0/24; `FieldError` for anything else."""
    text = text.strip()
    if not text:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise FieldError(
            "ip", "Enter an IP address (192.0.2.7) or a network prefix (192.0.2.0/24)."
        ) from None
    if network.num_addresses == 1:
        return str(network.network_address)
    return network


def _in_network(ip: str, network: IpNetwork) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.version == network.version and address in network


@dataclasses.dataclass(frozen=True, slots=True)
class AuditFilter:
    """What a reader asks for; `org_id` empty means their own records."""

    org_id: str = ""
    ip: str = ""
    since: datetime | None = None
    until: datetime | None = None
    action: str = ""
    limit: int = 50
    before: tuple[datetime, str] | None = None


class AccessAudit:
    """Records and reads access events."""

    def __init__(self, store: Store, clock: Clock, policy: AccountPolicy) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy

    async def record(
        self, action: str, *, user_id: str, email: str, client: Client, detail: str = ""
    ) -> None:
        """Store one event, now."""
        await self._store.audit.add(
            AccessEvent(
                id=new_id(),
                user_id=user_id,
                email=email,
                at=self._clock.now(),
                ip=client.ip,
                user_agent=client.user_agent[:300],
                action=action,
                detail=detail,
            )
        )

    async def read(self, reader_id: str, query: AuditFilter) -> list[AccessEvent]:
        """The events `reader_id` may see that match `query`, newest first."""
        if query.action and query.action not in ACTIONS:
            raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}")
        if not 1 <= query.limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        if query.since and query.until and query.since > query.until:
            raise InvalidInput("the start of the date range is after its end")
        if query.org_id:
            if not await self._store.organizations.is_member(query.org_id, reader_id):
                # The same answer as for an organization that does not exist.
                raise NotFound(f"organization {query.org_id}")
            members = await self._store.organizations.members(query.org_id)
            user_ids = [member.user_id for member in members]
        else:
            user_ids = [reader_id]
        wanted = ip_filter(query.ip)
        if not isinstance(wanted, str | None):
            return await self._scan_network(user_ids, wanted, query)
        return await self._store.audit.query(
            user_ids=user_ids,
            ip=wanted,
            since=query.since,
            until=query.until,
            action=query.action or None,
            limit=query.limit,
            before=query.before,
        )

    async def _scan_network(
        self, user_ids: list[str], network: IpNetwork, query: AuditFilter
    ) -> list[AccessEvent]:
        # The stores compare addresses as text, so a prefix is matched here while reading pages
        # in order; the audit is bounded by its retention period, which bounds the scan too.
        found: list[AccessEvent] = []
        before = query.before
        while len(found) < query.limit:
            batch = await self._store.audit.query(
                user_ids=user_ids,
                since=query.since,
                until=query.until,
                action=query.action or None,
                limit=SCAN_BATCH,
                before=before,
            )
            found.extend(event for event in batch if _in_network(event.ip, network))
            if len(batch) < SCAN_BATCH:
                break
            before = (batch[-1].at, batch[-1].id)
        return found[: query.limit]
