"""Domain models: the immutable values that cross layers and actor boundaries.

Every model is a frozen, slotted dataclass; datetimes are timezone-aware UTC. Changing a value
means making a new one with `dataclasses.replace`.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime


def new_id() -> str:
    """A fresh random identifier for a new domain object (32 lowercase hex characters)."""
    return uuid.uuid4().hex


def sequential_id() -> str:
    """A fresh identifier that sorts after those made before it (32 lowercase hex characters).

    For records listed newest first by `(at, id)`: two made within one millisecond (equal
    `at`) still list in the order they were made. 16 hex digits of nanoseconds since the
    epoch, then 16 random ones.
    """
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


def email_key(email: str) -> str:
    """The form in which emails are compared and looked up: case-insensitive, so lowercased."""
    return email.lower()


def name_key(name: str) -> str:
    """The form in which appliance names are sorted: case-insensitive, so casefolded."""
    return name.casefold()


@dataclass(frozen=True, slots=True)
class User:
    """A hub account; `confirmed_at` stays `None` until the email address is confirmed.

    `totp_secret` and `phone` are sealed (encrypted) by the caller; the store never sees them in
    the clear. `totp_last_step` is the newest TOTP time step accepted, so no code is accepted
    twice. `backup_codes` are the hashes of the unused backup codes. `notifications` is the
    "Receive email notifications from MyKerio" opt-in. `default_org_id` is the organization the
    switcher last chose (empty: none chosen; it may name one the user has since left).
    """

    id: str
    email: str
    full_name: str
    password_hash: str
    created_at: datetime
    confirmed_at: datetime | None
    totp_secret: bytes | None = None
    totp_last_step: int | None = None
    phone: bytes | None = None
    backup_codes: tuple[str, ...] = ()
    notifications: bool = True
    password_changed_at: datetime | None = None
    default_org_id: str = ""


@dataclass(frozen=True, slots=True)
class Organization:
    """A customer organization; names need not be unique."""

    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's membership of an organization, since `joined_at`."""

    org_id: str
    user_id: str
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class Invitation:
    """An invitation of an email address to an organization, valid while `expires_at > now`.

    `email` is kept as typed and compared through `email_key`; `invited_by` is the inviting
    user's id. The links sent for it are known to the store only by their tokens' hashes.
    """

    id: str
    org_id: str
    email: str
    invited_by: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """One entry of an organization's activity log: who (`actor_id`, `actor_email`) did
    `action` (such as `"member_invited"`) to `target` (a name or an address), when, from where.
    """

    id: str
    org_id: str
    actor_id: str
    actor_email: str
    at: datetime
    ip: str
    action: str
    target: str
    detail: str


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser session, known by the hash of its cookie value.

    `persistent` is "Keep me logged in"; `last_seen` is the last request, which decides when an
    idle session ends.
    """

    id_hash: str
    user_id: str
    created_at: datetime
    last_seen: datetime
    persistent: bool
    ip: str
    user_agent: str


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """A login between the right password and the second factor, known by its id's hash.

    `guesses` counts the second-factor codes tried; `sms_code_hash` and `sms_expires_at` hold
    the SMS code sent for this attempt, if any.
    """

    id_hash: str
    user_id: str
    created_at: datetime
    persistent: bool
    guesses: int
    sms_code_hash: str | None
    sms_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class OneTimeToken:
    """A single-use token (email confirmation, password reset, ...) known by its hash.

    `purpose` says what it is for; `data` is whatever that purpose needs kept with it.
    """

    token_hash: str
    purpose: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    data: str


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An email written down before it is sent; `status` is `"pending"`, `"sent"` or `"failed"`.

    `attempts` counts the sending attempts made; a pending message is due at `next_attempt_at`;
    `last_error` describes the last failed attempt (empty if none).
    """

    id: str
    to: str
    subject: str
    text: str
    html: str
    created_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    sent_at: datetime | None
    # Relayed mail (`mykerio.relay`): the sender it came from (`key:<key id>`; empty for the
    # hub's own mail), its `From` and `Reply-To` headers (empty: the hub's own `From`, none).
    origin: str = ""
    from_header: str = ""
    reply_to: str = ""


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """One entry of the access audit; `action` is `"login"`, `"logout"` or `"login_failed"`.

    `email` is the address that was typed (a failed login may name no user: `user_id` empty).
    """

    id: str
    user_id: str
    email: str
    at: datetime
    ip: str
    user_agent: str
    action: str
    detail: str


@dataclass(frozen=True, slots=True)
class Appliance:
    """A Kerio appliance of an organization, known by its public key once it has connected.

    `product` is `"control"`, `"connect"` or `"operator"`. A Kerio Control box reserved by its
    `serial` (`""` when added any other way) has no `public_key` until it first connects.
    `status` is the dashboard's bullet, `"green"`, `"yellow"`, `"red"` or `"grey"`, with
    `status_reasons` for its hover (most serious first); `pending_notifications` counts the
    active appliance notifications. `connected` says whether its link is up now; `last_seen`
    is the last time it was heard from (`None`: never).
    """

    id: str
    org_id: str
    product: str
    version: str
    name: str
    public_key: bytes | None
    serial: str
    ip: str
    status: str
    status_reasons: tuple[str, ...]
    pending_notifications: int
    created_at: datetime
    last_seen: datetime | None
    connected: bool


@dataclass(frozen=True, slots=True)
class Pairing:
    """A pairing code an unknown appliance got, known by the code's hash, valid while
    `expires_at > now`, usable once.

    The rest is what the appliance said about itself when it asked: its key, product, version,
    the name it suggests (`name_hint`) and the IP it connected from.
    """

    code_hash: str
    public_key: bytes
    product: str
    version: str
    name_hint: str
    ip: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One entry of an appliance's status history: from `at` on it was `status` for `reasons`."""

    id: str
    appliance_id: str
    org_id: str
    at: datetime
    status: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Backup:
    """One configuration backup an appliance uploaded, complete and verified (guide 2.6).

    Its bytes are a blob of the store (sealed chunks, `mykerio.backups.blobs`) under the same
    id; this record is written only once that blob is complete, so a listed backup always has
    all of its bytes. `stored_at` is the hub's clock and orders "the five newest" (an appliance
    with a wrong clock cannot push its new backup out); `created_at` is the appliance's own.
    The appliance's name and product are copied in: a backup outlives the appliance's removal.
    """

    id: str
    appliance_id: str
    org_id: str
    appliance_name: str
    product: str
    version: str
    created_at: datetime
    stored_at: datetime
    size: int
    sha256: str  # hex, of the plaintext the appliance sent
    reason: str  # scheduled, manual, before_change
    certificates: bool  # the backup includes certificates and their private keys


@dataclass(frozen=True, slots=True)
class DefinitionVersion:
    """One version of one kind of an organization's shared definitions (`kind`: the value of
    `mykerio.definitions.model.Kind`), as it was saved: its groups as Kerio-form JSON text,
    who saved it (empty email: the hub itself) and what changed from the version before.

    `id` is `<org_id>:<kind>:<version as 10 digits>`, so that two saves of one version collide
    on the key in either store: that is how concurrent editors (or hub nodes) are refused.
    """

    id: str
    org_id: str
    kind: str
    version: int
    at: datetime
    actor_email: str
    change: str
    groups: str


def definition_version_id(org_id: str, kind: str, version: int) -> str:
    """The key of one version (see `DefinitionVersion`)."""
    return f"{org_id}:{kind}:{version:010d}"


@dataclass(frozen=True, slots=True)
class RelaySender:
    """What the notification relay counts for one sender (`mykerio.relay.rules`).

    `id` is `key:<public key id>` for an appliance's key, or `source:<IP address>` for the cap
    shared by the keys in no organization that connect from one address. The quota window
    started with its first accepted email (`None`: no window yet) and holds `window_count`
    emails; `refused` counts refused recipients by reason since the first submission;
    `bounced_recipients` are the addresses this sender mailed that bounced or that it tried
    while they were blacklisted (the appliance refusal counts those still blacklisted).
    """

    id: str
    window_started_at: datetime | None
    window_count: int
    sent_total: int
    refused_quota: int
    refused_blacklisted: int
    refused_bounced: int
    refused_format: int
    bounced_recipients: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    """A recipient the relay does not mail until `release_at` (2 weeks after its last bounce).

    `address` is the lowercased address; `last_reason` says what bounced (a 5xx reply or a
    delivery status notification), for the operator.
    """

    address: str
    first_bounce_at: datetime
    last_bounce_at: datetime
    release_at: datetime
    bounces: int
    last_reason: str


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One fact the notifier (`actors/notifier.py`) must not forget across a restart.

    `kind` says which:

    - `grace`: the appliance went offline at `at` and is not announced yet (`user_id` empty);
    - `queued`: a line of `user_id`'s next email, queued at `at`: the appliance went `change`
      (`offline` or `online`) at `changed_at`; `repeats` counts the offline episodes the flap
      floor held back before it;
    - `floor`: `user_id` was last told the appliance went offline at `at` (queued then);
      `repeats` offline episodes were held back since; `told_down`: the last they were told is
      "offline", so a "back online" is owed;
    - `dismissed`: `user_id` dismissed the appliance notification `change` for themselves.

    A queued line of an appliance notification has `change` `notification` and its words in
    `detail`.
    """

    id: str
    at: datetime
    kind: str
    org_id: str
    appliance_id: str
    user_id: str
    appliance_name: str
    change: str
    changed_at: datetime
    repeats: int
    told_down: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AlertSetting:
    """One notification setting, as text (`mykerio.notifications.settings` reads it): of an
    organization (`appliance_id` and `user_id` empty), of one appliance, or of one person in an
    organization or for one appliance. `id` is `alert_setting_id(...)`, so that setting it again
    replaces it."""

    id: str
    at: datetime
    org_id: str
    appliance_id: str
    user_id: str
    name: str
    value: str


def alert_setting_id(org_id: str, appliance_id: str, user_id: str, name: str) -> str:
    """The key of one setting (see `AlertSetting`)."""
    return f"{org_id}:{appliance_id}:{user_id}:{name}"


@dataclass(frozen=True, slots=True)
class ApplianceNotification:
    """A notification an appliance reported and has not cleared (docs/protocol.md 9.10).

    `id` is `<appliance_id>:<notice_id>` (the appliance's own id of it); `at` is when the hub
    first heard it, `raised_at` the appliance's time for it.
    """

    id: str
    at: datetime
    org_id: str
    appliance_id: str
    notice_id: str
    type: str
    severity: str
    text: str
    raised_at: datetime


@dataclass(frozen=True, slots=True)
class Webhook:
    """An organization's webhook endpoint (`mykerio.webhooks`): where to post, in which body
    format, for which events (`status`, `notification`) and from which notification severity.
    `secret` is its signing secret, sealed: shown once when made, never readable after."""

    id: str
    at: datetime
    org_id: str
    name: str
    url: str
    format: str
    events: tuple[str, ...]
    severity_from: str
    secret: bytes
    created_by: str


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One post to a webhook, kept as its delivery log: `pending` until it is answered 2xx
    (`sent`) or given up (`failed`); `response_status` is the last answer (0: none)."""

    id: str
    at: datetime
    org_id: str
    webhook_id: str
    event: str
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime
    response_status: int
    last_error: str
    done_at: datetime | None
