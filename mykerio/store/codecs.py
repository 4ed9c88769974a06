"""Where and how each model is stored, declared once for both adapters.

One `Table` per model: the SQLite table and the MongoDB collection (same name), and the codec
that writes its rows and documents (`mykerio.store.codec`). What differs from the model's own
fields is said here and nowhere else: derived columns for unique indexes (`email_lower`),
values kept in tables of their own (backup codes, TOTP steps on MongoDB), SQL keywords
(`to`), and the defaults of fields that older documents predate.
"""

from __future__ import annotations

from mykerio.models import (
    AccessEvent,
    ActivityEvent,
    AlertRecord,
    AlertSetting,
    Appliance,
    ApplianceNotification,
    Backup,
    BlacklistEntry,
    DefinitionVersion,
    Invitation,
    LoginAttempt,
    Membership,
    OneTimeToken,
    Organization,
    OutboxMessage,
    Pairing,
    RelaySender,
    Session,
    StatusChange,
    User,
    Webhook,
    WebhookDelivery,
    email_key,
)
from mykerio.store.codec import table

USERS = table(
    User,
    "users",
    skip=("backup_codes",),  # `backup_codes`: one row (document) per code
    mongo_skip=("totp_last_step",),  # `totp_steps`: one document per claimed step
    extra={"email_lower": lambda user: email_key(user.email)},
)
ORGANIZATIONS = table(Organization, "organizations")
# MongoDB gives each membership an `_id` of its own; (org_id, user_id) is unique.
MEMBERSHIPS = table(Membership, "memberships", key=None)
INVITATIONS = table(
    Invitation,
    "invitations",
    extra={"email_lower": lambda invitation: email_key(invitation.email)},
)
ACTIVITY_EVENTS = table(ActivityEvent, "activity_events")
SESSIONS = table(Session, "sessions", key="id_hash")
LOGIN_ATTEMPTS = table(LoginAttempt, "login_attempts", key="id_hash")
TOKENS = table(OneTimeToken, "tokens", key="token_hash")
# `to` is a keyword in SQL.
OUTBOX = table(
    OutboxMessage,
    "outbox",
    sqlite_rename={"to": "recipient"},
    # Messages from before the relay; SQLite migration 8 filled in the same values.
    defaults={"origin": "", "from_header": "", "reply_to": ""},
)
ACCESS_EVENTS = table(AccessEvent, "access_events")
APPLIANCES = table(
    Appliance,
    "appliances",
    # Appliance documents from before the appliance link lack these; SQLite migration 4 filled
    # in the same values.
    defaults={"serial": "", "status_reasons": (), "pending_notifications": 0, "connected": False},
)
PAIRINGS = table(Pairing, "pairings", key="code_hash")
STATUS_CHANGES = table(StatusChange, "status_changes")
BACKUPS = table(Backup, "backups")
DEFINITION_VERSIONS = table(DefinitionVersion, "definition_versions")
RELAY_SENDERS = table(RelaySender, "relay_senders")
RELAY_BLACKLIST = table(BlacklistEntry, "relay_blacklist", key="address")
ALERT_RECORDS = table(AlertRecord, "alert_records")
ALERT_SETTINGS = table(AlertSetting, "alert_settings")
APPLIANCE_NOTIFICATIONS = table(ApplianceNotification, "appliance_notifications")
WEBHOOKS = table(Webhook, "webhooks")
WEBHOOK_DELIVERIES = table(WebhookDelivery, "webhook_deliveries")
