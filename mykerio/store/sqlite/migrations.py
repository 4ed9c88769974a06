"""Versioned schema migrations for the SQLite store.

`MIGRATIONS[i]` takes the schema from version `i` to `i + 1`. The `schema_version` table holds
one row per applied version; each migration runs once, in its own transaction, together with
the row that records it. Append new migrations; never edit a published one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mykerio.errors import ConfigError
from mykerio.store.sqlite.connection import transaction

Migration = tuple[str, ...]
"""The SQL statements of one migration, run in order."""

MIGRATIONS: tuple[Migration, ...] = (
    (
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            email_lower TEXT NOT NULL UNIQUE,
            full_name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            confirmed_at INTEGER
        ) STRICT
        """,
        """
        CREATE TABLE appliances (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL,
            product TEXT NOT NULL,
            version TEXT NOT NULL,
            name TEXT NOT NULL,
            public_key BLOB NOT NULL UNIQUE,
            ip TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_seen INTEGER
        ) STRICT
        """,
        # No foreign key to appliances: backups outlive the appliance's removal from the hub.
        """
        CREATE TABLE backups (
            id TEXT PRIMARY KEY,
            appliance_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            filename TEXT NOT NULL,
            content BLOB NOT NULL,
            sha256 TEXT NOT NULL
        ) STRICT
        """,
        "CREATE INDEX backups_newest ON backups (appliance_id, created_at DESC, id DESC)",
    ),
    (
        # Accounts: second factors and settings on users, then one table per domain.
        "ALTER TABLE users ADD COLUMN totp_secret BLOB",
        "ALTER TABLE users ADD COLUMN totp_last_step INTEGER",
        "ALTER TABLE users ADD COLUMN phone BLOB",
        "ALTER TABLE users ADD COLUMN notifications INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE users ADD COLUMN password_changed_at INTEGER",
        # `position` keeps the order in which the codes were given.
        """
        CREATE TABLE backup_codes (
            user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            code_hash TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (user_id, code_hash)
        ) STRICT, WITHOUT ROWID
        """,
        """
        CREATE TABLE organizations (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_at INTEGER NOT NULL
        ) STRICT
        """,
        # No foreign key to users: the store leaves cross-domain references to its callers.
        """
        CREATE TABLE memberships (
            org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            joined_at INTEGER NOT NULL,
            PRIMARY KEY (org_id, user_id)
        ) STRICT, WITHOUT ROWID
        """,
        "CREATE INDEX memberships_of_user ON memberships (user_id)",
        """
        CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            persistent INTEGER NOT NULL,
            ip TEXT NOT NULL,
            user_agent TEXT NOT NULL
        ) STRICT
        """,
        "CREATE INDEX sessions_of_user ON sessions (user_id)",
        "CREATE INDEX sessions_idle ON sessions (persistent, last_seen)",
        """
        CREATE TABLE login_attempts (
            id_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            persistent INTEGER NOT NULL,
            guesses INTEGER NOT NULL,
            sms_code_hash TEXT,
            sms_expires_at INTEGER
        ) STRICT
        """,
        "CREATE INDEX login_attempts_created ON login_attempts (created_at)",
        """
        CREATE TABLE throttle_events (
            key TEXT NOT NULL,
            at INTEGER NOT NULL
        ) STRICT
        """,
        "CREATE INDEX throttle_events_of_key ON throttle_events (key, at)",
        """
        CREATE TABLE tokens (
            token_hash TEXT PRIMARY KEY,
            purpose TEXT NOT NULL,
            user_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            data TEXT NOT NULL
        ) STRICT
        """,
        "CREATE INDEX tokens_of_user ON tokens (user_id, purpose)",
        "CREATE INDEX tokens_expiry ON tokens (expires_at)",
        """
        CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            recipient TEXT NOT NULL,
            subject TEXT NOT NULL,
            text TEXT NOT NULL,
            html TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT NOT NULL,
            sent_at INTEGER
        ) STRICT
        """,
        "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
        "CREATE INDEX outbox_newest ON outbox (created_at DESC, id DESC)",
        """
        CREATE TABLE access_events (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            email TEXT NOT NULL,
            at INTEGER NOT NULL,
            ip TEXT NOT NULL,
            user_agent TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL
        ) STRICT
        """,
        "CREATE INDEX access_events_of_user ON access_events (user_id, at DESC, id DESC)",
        "CREATE INDEX access_events_of_ip ON access_events (ip, at DESC, id DESC)",
        "CREATE INDEX access_events_age ON access_events (at)",
    ),
    (
        # Organizations: the remembered switcher choice, invitations, the activity log.
        "ALTER TABLE users ADD COLUMN default_org_id TEXT NOT NULL DEFAULT ''",
        # No foreign key to organizations: deleting an organization deletes these explicitly.
        """
        CREATE TABLE invitations (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL,
            email TEXT NOT NULL,
            email_lower TEXT NOT NULL,
            invited_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) STRICT
        """,
        "CREATE UNIQUE INDEX invitations_pair ON invitations (org_id, email_lower)",
        "CREATE INDEX invitations_of_email ON invitations (email_lower)",
        "CREATE INDEX invitations_expiry ON invitations (expires_at)",
        # One row per link sent; deleting the invitation deletes them all.
        """
        CREATE TABLE invitation_tokens (
            token_hash TEXT PRIMARY KEY,
            invitation_id TEXT NOT NULL REFERENCES invitations (id) ON DELETE CASCADE
        ) STRICT, WITHOUT ROWID
        """,
        "CREATE INDEX invitation_tokens_of_invitation ON invitation_tokens (invitation_id)",
        """
        CREATE TABLE activity_events (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL,
            actor_id TEXT NOT NULL,
            actor_email TEXT NOT NULL,
            at INTEGER NOT NULL,
            ip TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT NOT NULL
        ) STRICT
        """,
        "CREATE INDEX activity_events_of_org ON activity_events (org_id, at DESC, id DESC)",
    ),
    (
        # The appliance link. A box reserved by serial has no key yet, so `public_key` becomes
        # nullable (UNIQUE allows many NULLs), which SQLite can only do by rebuilding the table.
        """
        CREATE TABLE appliances_v4 (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL,
            product TEXT NOT NULL,
            version TEXT NOT NULL,
            name TEXT NOT NULL,
            public_key BLOB UNIQUE,
            serial TEXT NOT NULL,
            ip TEXT NOT NULL,
            status TEXT NOT NULL,
            status_reasons TEXT NOT NULL,
            pending_notifications INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            last_seen INTEGER,
            connected INTEGER NOT NULL
        ) STRICT
        """,
        """
        INSERT INTO appliances_v4
        SELECT id, org_id, product, version, name, public_key, '', ip, status, '[]', 0,
               created_at, last_seen, 0
        FROM appliances
        """,
        "DROP TABLE appliances",
        "ALTER TABLE appliances_v4 RENAME TO appliances",
        # Serials are unique when given; "" means none, and many appliances have none.
        "CREATE UNIQUE INDEX appliances_serial ON appliances (serial) WHERE serial != ''",
        "CREATE INDEX appliances_of_org ON appliances (org_id)",
        "CREATE TABLE revoked_keys (public_key BLOB PRIMARY KEY) STRICT, WITHOUT ROWID",
        """
        CREATE TABLE pairings (
            code_hash TEXT PRIMARY KEY,
            public_key BLOB NOT NULL,
            product TEXT NOT NULL,
            version TEXT NOT NULL,
            name_hint TEXT NOT NULL,
            ip TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) STRICT
        """,
        "CREATE INDEX pairings_of_key ON pairings (public_key, created_at DESC, code_hash DESC)",
        "CREATE INDEX pairings_expiry ON pairings (expires_at)",
        # No foreign key to appliances: the history is deleted explicitly, when the caller says.
        """
        CREATE TABLE status_changes (
            id TEXT PRIMARY KEY,
            appliance_id TEXT NOT NULL,
            org_id TEXT NOT NULL,
            at INTEGER NOT NULL,
            status TEXT NOT NULL,
            reasons TEXT NOT NULL
        ) STRICT
        """,
        """
        CREATE INDEX status_changes_of_appliance ON status_changes (appliance_id, at DESC, id DESC)
        """,
    ),
    (
        # Mail bodies carry live links: those of sent and failed messages are deleted (the
        # metadata row stays); pending ones are sealed by the mailer when it starts.
        "UPDATE outbox SET text = '', html = '' WHERE status != 'pending'",
    ),
    (
        # Backups (issue 12): the bytes move out of the row into an encrypted blob file, and a
        # backup says what it is. No hub ever stored a row in the table of migration 1 (nothing
        # uploaded backups before), so it is replaced rather than converted.
        "DROP TABLE backups",
        """
        CREATE TABLE backups (
            id TEXT PRIMARY KEY,
            appliance_id TEXT NOT NULL,
            org_id TEXT NOT NULL,
            appliance_name TEXT NOT NULL,
            product TEXT NOT NULL,
            version TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            stored_at INTEGER NOT NULL,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            reason TEXT NOT NULL,
            certificates INTEGER NOT NULL
        ) STRICT
        """,
        "CREATE INDEX backups_newest ON backups (appliance_id, stored_at DESC, id DESC)",
        "CREATE INDEX backups_of_organization ON backups (org_id, stored_at DESC, id DESC)",
    ),
    (
        # Shared definitions: one row per saved version of one kind of an organization; the
        # key holds (org, kind, version), so a second save of one version is refused.
        """
        CREATE TABLE definition_versions (
            id TEXT PRIMARY KEY,
            org_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            version INTEGER NOT NULL,
            at INTEGER NOT NULL,
            actor_email TEXT NOT NULL,
            change TEXT NOT NULL,
            groups TEXT NOT NULL
        ) STRICT
        """,
        """
        CREATE INDEX definition_versions_newest
        ON definition_versions (org_id, kind, version DESC)
        """,
    ),
    (
        # The notification relay: relayed mail in the outbox names its sender and headers;
        # each sender's quota window and refusals; the bounce blacklist by address.
        "ALTER TABLE outbox ADD COLUMN origin TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE outbox ADD COLUMN from_header TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE outbox ADD COLUMN reply_to TEXT NOT NULL DEFAULT ''",
        """
        CREATE TABLE relay_senders (
            id TEXT PRIMARY KEY,
            window_started_at INTEGER,
            window_count INTEGER NOT NULL,
            sent_total INTEGER NOT NULL,
            refused_quota INTEGER NOT NULL,
            refused_blacklisted INTEGER NOT NULL,
            refused_bounced INTEGER NOT NULL,
            refused_format INTEGER NOT NULL,
            bounced_recipients TEXT NOT NULL,
            updated_at INTEGER NOT NULL
        ) STRICT
        """,
        """
        CREATE TABLE relay_blacklist (
            address TEXT PRIMARY KEY,
            first_bounce_at INTEGER NOT NULL,
            last_bounce_at INTEGER NOT NULL,
            release_at INTEGER NOT NULL,
            bounces INTEGER NOT NULL,
            last_reason TEXT NOT NULL
        ) STRICT
        """,
        "CREATE INDEX relay_blacklist_release ON relay_blacklist (release_at)",
        # Notifications (issue 15): the notifier's memory and the notification settings.
        """
        CREATE TABLE alert_records (
            id TEXT PRIMARY KEY,
            at INTEGER NOT NULL,
            kind TEXT NOT NULL,
            org_id TEXT NOT NULL,
            appliance_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            appliance_name TEXT NOT NULL,
            change TEXT NOT NULL,
            changed_at INTEGER NOT NULL,
            repeats INTEGER NOT NULL,
            told_down INTEGER NOT NULL,
            detail TEXT NOT NULL
        ) STRICT
        """,
        "CREATE INDEX alert_records_of_kind ON alert_records (kind, at DESC, id DESC)",
        """
        CREATE INDEX alert_records_of_appliance
        ON alert_records (appliance_id, at DESC, id DESC)
        """,
        """
        CREATE TABLE alert_settings (
            id TEXT PRIMARY KEY,
            at INTEGER NOT NULL,
            org_id TEXT NOT NULL,
            appliance_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL
        ) STRICT
        """,
        "CREATE INDEX alert_settings_of_org ON alert_settings (org_id, at DESC, id DESC)",
        """
        CREATE TABLE appliance_notifications (
            id TEXT PRIMARY KEY,
            at INTEGER NOT NULL,
            org_id TEXT NOT NULL,
            appliance_id TEXT NOT NULL,
            notice_id TEXT NOT NULL,
            type TEXT NOT NULL,
            severity TEXT NOT NULL,
            text TEXT NOT NULL,
            raised_at INTEGER NOT NULL
        ) STRICT
        """,
        """
        CREATE INDEX appliance_notifications_of_appliance
        ON appliance_notifications (appliance_id, at DESC, id DESC)
        """,
        """
        CREATE INDEX appliance_notifications_of_org
        ON appliance_notifications (org_id, at DESC, id DESC)
        """,
        """
        CREATE TABLE webhooks (
            id TEXT PRIMARY KEY,
            at INTEGER NOT NULL,
            org_id TEXT NOT NULL,
            name TEXT NOT NULL,
            url TEXT NOT NULL,
            format TEXT NOT NULL,
            events TEXT NOT NULL,
            severity_from TEXT NOT NULL,
            secret BLOB NOT NULL,
            created_by TEXT NOT NULL
        ) STRICT
        """,
        "CREATE INDEX webhooks_of_org ON webhooks (org_id, at DESC, id DESC)",
        """
        CREATE TABLE webhook_deliveries (
            id TEXT PRIMARY KEY,
            at INTEGER NOT NULL,
            org_id TEXT NOT NULL,
            webhook_id TEXT NOT NULL,
            event TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            response_status INTEGER NOT NULL,
            last_error TEXT NOT NULL,
            done_at INTEGER
        ) STRICT
        """,
        """
        CREATE INDEX webhook_deliveries_of_webhook
        ON webhook_deliveries (webhook_id, at DESC, id DESC)
        """,
        """
        CREATE INDEX webhook_deliveries_by_status
        ON webhook_deliveries (status, at DESC, id DESC)
        """,
    ),
)

LATEST_VERSION = len(MIGRATIONS)


def _current_version(connection: sqlite3.Connection) -> int:
    row = connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    return int(row[0])


def migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to `LATEST_VERSION`; `ConfigError` if the file is newer than the code."""
    connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)")
    current = _current_version(connection)
    if current > LATEST_VERSION:
        raise ConfigError(
            f"the database {path} has schema version {current}, newer than version "
            f"{LATEST_VERSION} that this MyKerio Hub understands; upgrade the hub or point it "
            "at another data directory"
        )
    for version in range(current + 1, LATEST_VERSION + 1):
        with transaction(connection):
            # Re-read inside the write lock: another process may have applied it meanwhile.
            if _current_version(connection) >= version:
                continue
            for statement in MIGRATIONS[version - 1]:
                connection.execute(statement)
            connection.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    if current < LATEST_VERSION:
        # Migrations delete data that must not stay readable (migration 5: mail bodies); the
        # pages they replaced linger in the main file until the log is copied back into it.
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
