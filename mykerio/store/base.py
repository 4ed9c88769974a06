"""The store's interface in domain terms: one repository protocol per domain, and `Store`.

Both adapters (`mykerio.store.sqlite`, `mykerio.store.mongo`) implement these protocols and
pass the same contract tests (`tests/store/test_*.py`). Rules shared by every adapter:

- datetimes going in must be timezone-aware (naive ones raise `InvalidInput`); they are stored
  at millisecond precision and come back as UTC (`datetime.UTC`);
- bytes round-trip exactly;
- a duplicate id or other unique key (user email, appliance public key or serial, membership)
  raises `Conflict`;
- an operation documented as atomic gives concurrent callers results consistent with some
  one-at-a-time order, on every adapter (MongoDB without multi-document transactions too);
- counts such as `limit` must be at least 1 (`InvalidInput` otherwise).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Protocol

from mykerio.models import (
    ActivityEvent,
    Backup,
    Invitation,
    Membership,
    Organization,
    OutboxMessage,
    User,
)
from mykerio.store.alerts_base import (
    AlertRepository as AlertRepository,
)
from mykerio.store.alerts_base import (
    AlertSettingRepository as AlertSettingRepository,
)
from mykerio.store.alerts_base import (
    ApplianceNotificationRepository as ApplianceNotificationRepository,
)
from mykerio.store.alerts_base import (
    WebhookDeliveryRepository as WebhookDeliveryRepository,
)
from mykerio.store.alerts_base import (
    WebhookRepository as WebhookRepository,
)
from mykerio.store.appliances_base import (
    ApplianceRepository as ApplianceRepository,
)
from mykerio.store.appliances_base import (
    PairingRepository as PairingRepository,
)
from mykerio.store.appliances_base import (
    StatusHistoryRepository as StatusHistoryRepository,
)
from mykerio.store.definitions_base import (
    DefinitionRepository as DefinitionRepository,
)
from mykerio.store.relay_base import (
    RelayRepository as RelayRepository,
)
from mykerio.store.signin import (
    AuditRepository as AuditRepository,
)
from mykerio.store.signin import (
    LoginAttemptRepository as LoginAttemptRepository,
)
from mykerio.store.signin import (
    SessionRepository as SessionRepository,
)
from mykerio.store.signin import (
    ThrottleRepository as ThrottleRepository,
)
from mykerio.store.signin import (
    TokenRepository as TokenRepository,
)

OperationObserver = Callable[[str, float], None]
"""Called after every repository operation with its name (`"users.add"`) and its seconds."""


class UserRepository(Protocol):
    """Hub accounts; emails are unique regardless of case."""

    async def add(self, user: User) -> User:
        """Store a new user and return it as stored; `Conflict` if the id or email is taken."""
        ...

    async def by_email(self, email: str) -> User | None:
        """The user with this email, compared case-insensitively, or `None`."""
        ...

    async def by_id(self, user_id: str) -> User | None:
        """The user with this id, or `None`."""
        ...

    # Every setter below raises `NotFound` for an unknown user id.

    async def set_password_hash(self, user_id: str, password_hash: str, at: datetime) -> None:
        """Replace the password hash; `at` becomes `password_changed_at`."""
        ...

    async def confirm(self, user_id: str, at: datetime) -> User:
        """Mark the email confirmed at `at` unless it already is; return the user after that."""
        ...

    async def set_totp(self, user_id: str, sealed_secret: bytes | None) -> None:
        """Set (or with `None` remove) the sealed TOTP secret and forget `totp_last_step`."""
        ...

    async def claim_totp_step(self, user_id: str, step: int) -> bool:
        """Atomically accept TOTP step `step` if no step as new was accepted since `set_totp`."""
        ...

    async def set_backup_codes(self, user_id: str, hashes: tuple[str, ...]) -> None:
        """Replace the backup code hashes (`InvalidInput` if one repeats); old ones stop working."""
        ...

    async def use_backup_code(self, user_id: str, code_hash: str) -> bool:
        """Atomically use up one backup code: `True` if it was unused (and now is used)."""
        ...

    async def set_phone(self, user_id: str, sealed_phone: bytes | None) -> None:
        """Set (or with `None` remove) the sealed backup phone number."""
        ...

    async def set_notifications(self, user_id: str, enabled: bool) -> None:
        """Opt in to (or out of) email notifications."""
        ...

    async def set_default_org(self, user_id: str, org_id: str) -> None:
        """Remember the organization the switcher chose (`""` forgets it); not checked here."""
        ...


class BlobWriter(Protocol):
    """A blob being written: records appended in order, listed nowhere until published."""

    async def append(self, record: bytes) -> None:
        """Add the next record (one sealed chunk, at most a few hundred KiB)."""
        ...

    async def discard(self) -> None:
        """Drop what was written (an upload that failed or was cut); calling it again, or
        after `publish`, does nothing."""
        ...


class BackupRepository(Protocol):
    """Configuration backups: a record per backup and its blob of records, a bounded number
    kept per appliance (`newest first` is by `stored_at`, ties by the greater id).

    A backup is listed only once its blob is complete: `begin` writes a temporary blob that no
    read sees, `publish` makes it durable and lists it in one step. Leftovers of a hub that
    stopped in between (temporary blobs, blobs without a record) go at `clean_leftovers`.
    """

    async def begin(self, backup_id: str) -> BlobWriter:
        """A new temporary blob for the backup `backup_id` will become."""
        ...

    async def publish(self, backup: Backup, blob: BlobWriter, keep: int) -> list[str]:
        """Make `blob` durable and list `backup` with it, then delete all but the `keep`
        newest of its appliance's backups (records and blobs). Returns the ids this call
        removed; `keep` must be at least 1. On failure the blob is discarded and nothing is
        listed."""
        ...

    async def newest(self, appliance_id: str, limit: int) -> list[Backup]:
        """At most `limit` (at least 1) backups of the appliance, newest first."""
        ...

    async def of_organization(self, org_id: str) -> list[Backup]:
        """Every backup of the organization's appliances (removed ones too), newest first."""
        ...

    async def get(self, backup_id: str) -> Backup:
        """One backup; `NotFound` if it does not exist (any more)."""
        ...

    def records(self, backup_id: str) -> AsyncIterator[bytes]:
        """The records of a listed backup's blob, in order, read as they are consumed (never
        the whole blob at once); `NotFound` if it does not exist."""
        ...

    async def delete(self, backup_id: str) -> Backup:
        """Delete one backup (record, then blob) and return it; `NotFound` if there is none."""
        ...

    async def clean_leftovers(self) -> int:
        """Delete temporary blobs and blobs without a record (at start, before any upload);
        returns how many went."""
        ...


class OrganizationRepository(Protocol):
    """Organizations and who belongs to them."""

    async def add(self, organization: Organization) -> Organization:
        """Store a new organization and return it as stored; `Conflict` if the id is taken."""
        ...

    async def by_id(self, org_id: str) -> Organization | None:
        """The organization with this id, or `None`."""
        ...

    async def rename(self, org_id: str, name: str) -> Organization:
        """Give the organization a new name and return it; `NotFound` if unknown."""
        ...

    async def delete(self, org_id: str) -> None:
        """Delete the organization and all its memberships; `NotFound` if unknown."""
        ...

    async def add_member(self, org_id: str, user_id: str, at: datetime) -> Membership:
        """Make the user a member since `at`; `NotFound` if no such org, `Conflict` if a member."""
        ...

    async def remove_member(self, org_id: str, user_id: str) -> bool:
        """End the membership; `True` if there was one."""
        ...

    async def members(self, org_id: str) -> list[Membership]:
        """The organization's memberships, longest-standing first (ties by user id)."""
        ...

    async def of_user(self, user_id: str) -> list[Organization]:
        """The organizations the user belongs to, by name (code point order), ties by id."""
        ...

    async def is_member(self, org_id: str, user_id: str) -> bool:
        """Whether the user belongs to the organization."""
        ...

    async def count_members(self, org_id: str) -> int:
        """How many members the organization has (0 for an unknown one)."""
        ...


class InvitationRepository(Protocol):
    """Invitations to organizations, and the hashes of the tokens in the links sent for them.

    An invitation is pending while `expires_at > now`. Each sending of its email has a token of
    its own; every one of them leads to the invitation while it is stored and pending, and none
    does once it is deleted. Per organization at most one invitation is stored for an email
    address, compared case-insensitively (`email_key`).
    """

    async def add(self, invitation: Invitation, token_hash: str) -> Invitation:
        """Store a new invitation with the hash of its first link's token; return it as stored.

        First deletes the organization's invitations of this address that expired by
        `invitation.created_at`. `Conflict` if a pending one remains, or the id or hash is taken.
        """
        ...

    async def by_id(self, invitation_id: str) -> Invitation | None:
        """The stored invitation with this id, pending or expired, or `None`."""
        ...

    async def by_token(self, token_hash: str, now: datetime) -> Invitation | None:
        """The pending invitation one of whose links carries this token hash, or `None`."""
        ...

    async def renew(self, invitation_id: str, token_hash: str, expires_at: datetime) -> Invitation:
        """Add the token hash of a newly sent link and move the expiry to `expires_at`.

        Returns the invitation after the change; the earlier links keep working as long as it
        does. `NotFound` if the invitation is no longer stored, `Conflict` if the hash is taken
        (then nothing changes).
        """
        ...

    async def pending(self, org_id: str, now: datetime) -> list[Invitation]:
        """The organization's pending invitations, oldest first (ties by id)."""
        ...

    async def pending_for_email(self, email: str, now: datetime) -> list[Invitation]:
        """The pending invitations of this address (case-insensitive), oldest first (ties by id)."""
        ...

    async def delete(self, invitation_id: str) -> bool:
        """Atomically delete the invitation with its token hashes: `True` if this call did.

        Accepting and revoking both pass through here, so of concurrent calls exactly one wins.
        """
        ...

    async def delete_expired(self, now: datetime) -> int:
        """Delete the invitations with `expires_at <= now` and their token hashes; how many."""
        ...

    async def delete_for_org(self, org_id: str) -> int:
        """Delete the organization's invitations, pending or not, with their token hashes; how
        many.
        """
        ...


class ActivityRepository(Protocol):
    """Each organization's activity log: who took which administrative action, when, whence."""

    async def add(self, event: ActivityEvent) -> ActivityEvent:
        """Store a new event and return it as stored; `Conflict` if the id is taken."""
        ...

    async def query(
        self,
        *,
        org_id: str,
        action: str | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int,
        before: tuple[datetime, str] | None = None,
    ) -> list[ActivityEvent]:
        """At most `limit` events of the organization, newest first (ties by greater id).

        Optional filters: this `action`, this `actor_id`, `since <= at < until`. For the next
        page pass the `(at, id)` of the last event of this one as `before`: pages then neither
        repeat nor skip events, also among events with equal times.
        """
        ...

    async def delete_for_org(self, org_id: str) -> int:
        """Delete the organization's events; return how many."""
        ...


class OutboxRepository(Protocol):
    """Emails written down before sending, so a restart loses none.

    Oldest and newest go by `created_at`, ties broken by the id.
    """

    async def add(self, message: OutboxMessage) -> OutboxMessage:
        """Store a new message and return it as stored; `Conflict` if the id is taken."""
        ...

    async def by_id(self, message_id: str) -> OutboxMessage | None:
        """The message with this id, or `None`."""
        ...

    async def due(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """At most `limit` pending messages with `next_attempt_at <= now`, oldest first."""
        ...

    # The mark_* operations raise `NotFound` for an unknown message id.

    async def pending(self) -> list[OutboxMessage]:
        """Every pending message, due or not, oldest first."""
        ...

    async def replace_body(self, message_id: str, text: str) -> None:
        """Store `text` as the message's body (the sealed form) and empty its `html`."""
        ...

    async def mark_sent(self, message_id: str, at: datetime) -> None:
        """Mark the message sent at `at`, the successful attempt adding one to `attempts`, and
        delete its body (`text` and `html` become empty; the metadata stays)."""
        ...

    async def mark_retry(
        self, message_id: str, *, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        """Keep the message pending, due at `next_attempt_at`, after `attempts` failed ones."""
        ...

    async def mark_failed(self, message_id: str, *, attempts: int, error: str) -> None:
        """Give the message up after `attempts` attempts, the last failing with `error`, and
        delete its body."""
        ...

    async def recent(self, limit: int) -> list[OutboxMessage]:
        """At most `limit` messages of any status, newest first."""
        ...

    async def pending_count(self) -> int:
        """How many messages are pending."""
        ...

    async def next_attempt_at(self) -> datetime | None:
        """When the earliest pending message is due, or `None` if none is pending."""
        ...


class Store(Protocol):
    """An open store: the repositories plus health and shutdown."""

    @property
    def kind(self) -> str:
        """Which adapter this is: `"sqlite"` or `"mongodb"`."""
        ...

    @property
    def users(self) -> UserRepository:
        """Hub accounts."""
        ...

    @property
    def appliances(self) -> ApplianceRepository:
        """The organizations' appliances and the revoked keys."""
        ...

    @property
    def pairings(self) -> PairingRepository:
        """Pairing codes of unknown appliances."""
        ...

    @property
    def status_history(self) -> StatusHistoryRepository:
        """The appliances' status changes."""
        ...

    @property
    def backups(self) -> BackupRepository:
        """Appliance configuration backups."""
        ...

    @property
    def organizations(self) -> OrganizationRepository:
        """Organizations and their members."""
        ...

    @property
    def definitions(self) -> DefinitionRepository:
        """The organizations' shared definitions, one version history per kind."""
        ...

    @property
    def invitations(self) -> InvitationRepository:
        """Invitations to organizations."""
        ...

    @property
    def activity(self) -> ActivityRepository:
        """The organizations' activity logs."""
        ...

    @property
    def sessions(self) -> SessionRepository:
        """Login sessions."""
        ...

    @property
    def login_attempts(self) -> LoginAttemptRepository:
        """Logins waiting for their second factor."""
        ...

    @property
    def throttle(self) -> ThrottleRepository:
        """Events counted by rate limits."""
        ...

    @property
    def tokens(self) -> TokenRepository:
        """Single-use tokens."""
        ...

    @property
    def outbox(self) -> OutboxRepository:
        """Emails to send."""
        ...

    @property
    def audit(self) -> AuditRepository:
        """The access audit."""
        ...

    @property
    def relay(self) -> RelayRepository:
        """The notification relay's senders and blacklist."""
        ...

    @property
    def alerts(self) -> AlertRepository:
        """What the notifier remembers: grace periods, queued lines, flap floors."""
        ...

    @property
    def alert_settings(self) -> AlertSettingRepository:
        """Notification settings of organizations, appliances and people."""
        ...

    @property
    def appliance_notifications(self) -> ApplianceNotificationRepository:
        """Notifications the appliances reported and have not cleared."""
        ...

    @property
    def webhooks(self) -> WebhookRepository:
        """Organizations' webhook endpoints."""
        ...

    @property
    def webhook_deliveries(self) -> WebhookDeliveryRepository:
        """Webhook posts: the outbox and the delivery log."""
        ...

    async def ping(self) -> None:
        """Return once the backend answers; raise `Unavailable` if it cannot."""
        ...

    async def close(self) -> None:
        """Release connections and threads; calling it again does nothing."""
        ...
