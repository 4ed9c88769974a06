"""Indexes of the MongoDB store, and what breaking a unique one means: `Conflict`.

Indexes are created at every open; `create_index` does nothing when the index exists. Only
plain single and compound indexes are used, which every MongoDB-wire server we test against
(FerretDB 1.24 included) supports: no TTL, no partial indexes.

FerretDB 1.24 applies an update by reading the document, changing it in its own process and
writing it back whole, so conditional updates (`find_one_and_update`, `$inc`, `$pull`) are not
atomic there. What it does do atomically is refuse a second insert of a unique key and report
how many documents a delete removed; the operations that must be atomic are built on those two
(the `*_claims` indexes below, the claims on appliance keys and serials in `claims`, and deletes
whose `deleted_count` decides who won).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from mykerio.errors import Conflict

Document = dict[str, Any]

NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]
"""Newest to oldest by `created_at`, ties broken by the greater id."""

OLDEST_FIRST = [("created_at", ASCENDING), ("_id", ASCENDING)]
"""Oldest to newest by `created_at`, ties broken by the lower id."""

EVENTS_NEWEST_FIRST = [("at", DESCENDING), ("_id", DESCENDING)]
"""The order of `access_events`, `activity_events` and `status_changes` from newest to oldest;
ties broken by the greater id.
"""

BACKUPS_NEWEST_FIRST = [("stored_at", DESCENDING), ("_id", DESCENDING)]
"""Backups from newest to oldest by when the hub stored them, ties by the greater id."""

_OLD_UNIQUE_KEY_INDEX = "public_key_unique"
"""The unique index keys had before boxes reserved by serial (no key yet) existed."""


async def ensure_indexes(database: AsyncDatabase[Document]) -> None:
    """Create the store's indexes if they are missing."""
    await database.users.create_index("email_lower", unique=True, name="email_lower_unique")
    # A code is one document: deleting it is using it, and only one delete can remove it.
    await database.backup_codes.create_index(
        [("user_id", ASCENDING), ("code_hash", ASCENDING)], unique=True, name="codes_claims"
    )
    # One document per claimed step: inserting it is claiming it, and only one insert succeeds.
    await database.totp_steps.create_index(
        [("user_id", ASCENDING), ("step", ASCENDING)], unique=True, name="steps_claims"
    )
    await _ensure_appliance_indexes(database)
    await _ensure_alert_indexes(database)
    # (Not `backups_newest`: that name held `created_at`, the order before issue 12.)
    await database.backups.create_index(
        [("appliance_id", ASCENDING), *BACKUPS_NEWEST_FIRST], name="backups_stored_newest"
    )
    await database.backups.create_index(
        [("org_id", ASCENDING), *BACKUPS_NEWEST_FIRST], name="backups_of_organization"
    )
    # A blob's chunks, in order; one document per (blob, index).
    await database.backup_chunks.create_index(
        [("blob_id", ASCENDING), ("n", ASCENDING)], unique=True, name="backup_chunks_order"
    )
    await database.definition_versions.create_index(
        [("org_id", ASCENDING), ("kind", ASCENDING), ("version", DESCENDING)],
        name="definition_versions_newest",
    )
    await database.relay_blacklist.create_index("release_at", name="relay_blacklist_release")
    await database.memberships.create_index(
        [("org_id", ASCENDING), ("user_id", ASCENDING)], unique=True, name="membership_unique"
    )
    await database.memberships.create_index("user_id", name="memberships_of_user")
    await database.sessions.create_index("user_id", name="sessions_of_user")
    await database.sessions.create_index(
        [("persistent", ASCENDING), ("last_seen", ASCENDING)], name="sessions_idle"
    )
    await database.login_attempts.create_index("created_at", name="attempts_created")
    # One document per guess, numbered 1, 2, ...: inserting number n is making guess n.
    await database.login_guesses.create_index(
        [("attempt", ASCENDING), ("number", ASCENDING)], unique=True, name="guesses_claims"
    )
    await database.login_guesses.create_index("created_at", name="guesses_created")
    await database.throttle_events.create_index(
        [("key", ASCENDING), ("at", ASCENDING)], name="throttle_of_key"
    )
    await database.tokens.create_index(
        [("user_id", ASCENDING), ("purpose", ASCENDING)], name="tokens_of_user"
    )
    await database.tokens.create_index("expires_at", name="tokens_expiry")
    await database.outbox.create_index(
        [("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="outbox_due"
    )
    await database.outbox.create_index(NEWEST_FIRST, name="outbox_newest")
    await database.access_events.create_index(
        [("user_id", ASCENDING), *EVENTS_NEWEST_FIRST], name="events_of_user"
    )
    await database.access_events.create_index(
        [("ip", ASCENDING), *EVENTS_NEWEST_FIRST], name="events_of_ip"
    )
    await database.access_events.create_index("at", name="events_age")
    # At most one invitation per organization and address: a second insert is refused.
    await database.invitations.create_index(
        [("org_id", ASCENDING), ("email_lower", ASCENDING)], unique=True, name="invitation_pair"
    )
    await database.invitations.create_index(
        [("email_lower", ASCENDING), *OLDEST_FIRST], name="invitations_of_email"
    )
    await database.invitations.create_index("expires_at", name="invitations_expiry")
    await database.invitation_tokens.create_index(
        "invitation_id", name="invitation_tokens_of_invitation"
    )
    await database.activity_events.create_index(
        [("org_id", ASCENDING), *EVENTS_NEWEST_FIRST], name="activity_of_org"
    )


async def _ensure_appliance_indexes(database: AsyncDatabase[Document]) -> None:
    """Indexes of the appliance link: appliances, their key and serial claims, pairings, and
    status history.
    """
    # Many reserved boxes have no key, so the key is no longer unique in `appliances` itself:
    # `appliance_keys` claims it (see `claims`). An index on the same field under another
    # name cannot be created beside the old one, so it goes first. Keys stored before have no
    # claim; the check after every add and attach (see `appliances`) still keeps them unique.
    if _OLD_UNIQUE_KEY_INDEX in await database.appliances.index_information():
        await database.appliances.drop_index(_OLD_UNIQUE_KEY_INDEX)
    await database.appliances.create_index("public_key", name="appliances_by_key")
    await database.appliances.create_index("serial", name="appliances_by_serial")
    await database.appliances.create_index("org_id", name="appliances_of_org")
    await database.appliance_keys.create_index("owner", name="key_claims_of_owner")
    await database.appliance_serials.create_index("owner", name="serial_claims_of_owner")
    await database.pairings.create_index(
        [("public_key", ASCENDING), *NEWEST_FIRST], name="pairings_of_key"
    )
    await database.pairings.create_index("expires_at", name="pairings_expiry")
    await database.status_changes.create_index(
        [("appliance_id", ASCENDING), *EVENTS_NEWEST_FIRST], name="status_of_appliance"
    )


@contextmanager
def duplicates_conflict(what: str) -> Iterator[None]:
    """Turn a violated unique index (or duplicate `_id`) inside the block into `Conflict`."""
    try:
        yield
    except DuplicateKeyError as error:
        raise Conflict(f"{what} already exists") from error


async def _ensure_alert_indexes(database: AsyncDatabase[Document]) -> None:
    await database.alert_records.create_index(
        [("kind", ASCENDING), *EVENTS_NEWEST_FIRST], name="alerts_of_kind"
    )
    await database.alert_records.create_index(
        [("appliance_id", ASCENDING), *EVENTS_NEWEST_FIRST], name="alerts_of_appliance"
    )
    await database.alert_settings.create_index(
        [("org_id", ASCENDING), *EVENTS_NEWEST_FIRST], name="alert_settings_of_org"
    )
    await database.appliance_notifications.create_index(
        [("appliance_id", ASCENDING), *EVENTS_NEWEST_FIRST], name="notifications_of_appliance"
    )
    await database.appliance_notifications.create_index(
        [("org_id", ASCENDING), *EVENTS_NEWEST_FIRST], name="notifications_of_org"
    )
    await database.webhooks.create_index(
        [("org_id", ASCENDING), *EVENTS_NEWEST_FIRST], name="webhooks_of_org"
    )
    await database.webhook_deliveries.create_index(
        [("webhook_id", ASCENDING), *EVENTS_NEWEST_FIRST], name="deliveries_of_webhook"
    )
    await database.webhook_deliveries.create_index(
        [("status", ASCENDING), *EVENTS_NEWEST_FIRST], name="deliveries_by_status"
    )
