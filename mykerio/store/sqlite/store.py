"""The SQLite store: one database file under the data directory, opened and migrated."""

from __future__ import annotations

import sqlite3
from functools import partial
from pathlib import Path

from mykerio.errors import Unavailable
from mykerio.store.alerts import (
    AlertLog,
    AlertSettings,
    ApplianceNotifications,
    WebhookDeliveries,
    Webhooks,
)
from mykerio.store.base import OperationObserver
from mykerio.store.codecs import (
    ACCESS_EVENTS,
    ACTIVITY_EVENTS,
    ALERT_RECORDS,
    ALERT_SETTINGS,
    APPLIANCE_NOTIFICATIONS,
    STATUS_CHANGES,
    WEBHOOK_DELIVERIES,
    WEBHOOKS,
)
from mykerio.store.events import ActivityLog, AuditLog, StatusHistoryLog
from mykerio.store.sqlite.appliances import SqliteAppliances
from mykerio.store.sqlite.backups import SqliteBackups
from mykerio.store.sqlite.connection import SqliteDatabase
from mykerio.store.sqlite.definitions import SqliteDefinitions
from mykerio.store.sqlite.events import SqliteEvents
from mykerio.store.sqlite.invitations import SqliteInvitations
from mykerio.store.sqlite.login_attempts import SqliteLoginAttempts
from mykerio.store.sqlite.migrations import migrate
from mykerio.store.sqlite.organizations import SqliteOrganizations
from mykerio.store.sqlite.outbox import SqliteOutbox
from mykerio.store.sqlite.pairings import SqlitePairings
from mykerio.store.sqlite.relay import SqliteRelay
from mykerio.store.sqlite.sessions import SqliteSessions
from mykerio.store.sqlite.throttle import SqliteThrottle
from mykerio.store.sqlite.tokens import SqliteTokens
from mykerio.store.sqlite.users import SqliteUsers

BLOBS_DIR = "backups"
"""Where the backups' blob files are, beside the database file."""


def _select_one(connection: sqlite3.Connection) -> None:
    connection.execute("SELECT 1").fetchall()


class SqliteStore:
    """`Store` on an embedded SQLite database."""

    kind = "sqlite"

    def __init__(
        self,
        database: SqliteDatabase,
        on_operation: OperationObserver | None,
        blobs: Path,
    ) -> None:
        self._database = database
        self.users = SqliteUsers(database, on_operation)
        self.appliances = SqliteAppliances(database, on_operation)
        self.pairings = SqlitePairings(database, on_operation)
        self.status_history = StatusHistoryLog(SqliteEvents(database, STATUS_CHANGES), on_operation)
        self.backups = SqliteBackups(database, blobs, on_operation)
        self.organizations = SqliteOrganizations(database, on_operation)
        self.invitations = SqliteInvitations(database, on_operation)
        self.definitions = SqliteDefinitions(database, on_operation)
        self.activity = ActivityLog(SqliteEvents(database, ACTIVITY_EVENTS), on_operation)
        self.sessions = SqliteSessions(database, on_operation)
        self.login_attempts = SqliteLoginAttempts(database, on_operation)
        self.throttle = SqliteThrottle(database, on_operation)
        self.tokens = SqliteTokens(database, on_operation)
        self.outbox = SqliteOutbox(database, on_operation)
        self.audit = AuditLog(SqliteEvents(database, ACCESS_EVENTS), on_operation)
        self.relay = SqliteRelay(database, on_operation)
        self.alerts = AlertLog(SqliteEvents(database, ALERT_RECORDS), on_operation)
        self.alert_settings = AlertSettings(SqliteEvents(database, ALERT_SETTINGS), on_operation)
        self.appliance_notifications = ApplianceNotifications(
            SqliteEvents(database, APPLIANCE_NOTIFICATIONS), on_operation
        )
        self.webhooks = Webhooks(SqliteEvents(database, WEBHOOKS), on_operation)
        self.webhook_deliveries = WebhookDeliveries(
            SqliteEvents(database, WEBHOOK_DELIVERIES), on_operation
        )

    async def ping(self) -> None:
        """Return once the database answers a query; `Unavailable` if it cannot."""
        try:
            await self._database.run(_select_one)
        except sqlite3.Error as error:
            raise Unavailable(f"the SQLite store does not answer: {error}") from error

    async def close(self) -> None:
        """Close the database and end its worker thread; calling it again does nothing."""
        await self._database.close()


async def open_sqlite_store(
    path: Path, *, on_operation: OperationObserver | None = None
) -> SqliteStore:
    """Open (creating if needed) the database file at `path` and bring its schema up to date.

    Raises `ConfigError` if the file was written by a newer version of the hub.
    """
    database = await SqliteDatabase.open(path)
    try:
        await database.run(partial(migrate, path=path))
    except BaseException:
        await database.close()
        raise
    return SqliteStore(database, on_operation, path.parent / BLOBS_DIR)
