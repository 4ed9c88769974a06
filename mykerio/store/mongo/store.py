"""The MongoDB store: one `pymongo.AsyncMongoClient`, its database and collections."""

from __future__ import annotations

from typing import TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConfigurationError, ConnectionFailure, PyMongoError

from mykerio.errors import ConfigError, Unavailable
from mykerio.store.alerts import (
    AlertLog,
    AlertSettings,
    ApplianceNotifications,
    WebhookDeliveries,
    Webhooks,
)
from mykerio.store.base import OperationObserver
from mykerio.store.codec import Table
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
from mykerio.store.mongo.appliances import MongoAppliances
from mykerio.store.mongo.backups import MongoBackups
from mykerio.store.mongo.definitions import MongoDefinitions
from mykerio.store.mongo.events import MongoEvents
from mykerio.store.mongo.indexes import Document, ensure_indexes
from mykerio.store.mongo.invitations import MongoInvitations
from mykerio.store.mongo.login_attempts import MongoLoginAttempts
from mykerio.store.mongo.organizations import MongoOrganizations
from mykerio.store.mongo.outbox import MongoOutbox
from mykerio.store.mongo.pairings import MongoPairings
from mykerio.store.mongo.relay import MongoRelay
from mykerio.store.mongo.sessions import MongoSessions
from mykerio.store.mongo.throttle import MongoThrottle
from mykerio.store.mongo.tokens import MongoTokens
from mykerio.store.mongo.users import MongoUsers

M = TypeVar("M")

DEFAULT_DATABASE = "mykerio"
"""The database used when the URI names none."""


class MongoStore:
    """`Store` on a MongoDB(-wire) server."""

    kind = "mongodb"

    def __init__(
        self,
        client: AsyncMongoClient[Document],
        database: AsyncDatabase[Document],
        on_operation: OperationObserver | None,
    ) -> None:
        self._client = client
        self._database = database
        self._closed = False
        self.users = MongoUsers(
            database.users, database.backup_codes, database.totp_steps, on_operation
        )
        self.appliances = MongoAppliances(
            database.appliances,
            database.appliance_keys,
            database.appliance_serials,
            database.revoked_keys,
            on_operation,
        )
        self.pairings = MongoPairings(database.pairings, on_operation)
        self.status_history = StatusHistoryLog(self._events(STATUS_CHANGES), on_operation)
        self.backups = MongoBackups(database.backups, database.backup_chunks, on_operation)
        self.organizations = MongoOrganizations(
            database.organizations, database.memberships, on_operation
        )
        self.invitations = MongoInvitations(
            database.invitations, database.invitation_tokens, on_operation
        )
        self.activity = ActivityLog(self._events(ACTIVITY_EVENTS), on_operation)
        self.definitions = MongoDefinitions(database.definition_versions, on_operation)
        self.sessions = MongoSessions(database.sessions, on_operation)
        self.login_attempts = MongoLoginAttempts(
            database.login_attempts, database.login_guesses, on_operation
        )
        self.throttle = MongoThrottle(database.throttle_events, on_operation)
        self.tokens = MongoTokens(database.tokens, on_operation)
        self.outbox = MongoOutbox(database.outbox, on_operation)
        self.audit = AuditLog(self._events(ACCESS_EVENTS), on_operation)
        self.relay = MongoRelay(database.relay_senders, database.relay_blacklist, on_operation)
        self.alerts = AlertLog(self._events(ALERT_RECORDS), on_operation)
        self.alert_settings = AlertSettings(self._events(ALERT_SETTINGS), on_operation)
        self.appliance_notifications = ApplianceNotifications(
            self._events(APPLIANCE_NOTIFICATIONS), on_operation
        )
        self.webhooks = Webhooks(self._events(WEBHOOKS), on_operation)
        self.webhook_deliveries = WebhookDeliveries(self._events(WEBHOOK_DELIVERIES), on_operation)

    def _events(self, table: Table[M]) -> MongoEvents[M]:
        return MongoEvents(self._database[table.name], table)

    async def ping(self) -> None:
        """Return once the server answers `ping`; `Unavailable` if it cannot."""
        if self._closed:
            raise Unavailable("the MongoDB store is closed")
        try:
            await self._database.command("ping")
        except PyMongoError as error:
            raise Unavailable(f"the MongoDB store does not answer: {error}") from error

    async def close(self) -> None:
        """Close the client's connections; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        await self._client.close()


async def purge_delivered_bodies(database: AsyncDatabase[Document]) -> None:
    """Delete the bodies older hubs kept for sent and failed mail (SQLite's migration 5).

    They carry live links; the metadata stays. Pending ones are sealed by the mailer at start.
    """
    await database.outbox.update_many(
        {"status": {"$ne": "pending"}, "$or": [{"text": {"$ne": ""}}, {"html": {"$ne": ""}}]},
        {"$set": {"text": "", "html": ""}},
    )


async def open_mongo_store(
    uri: str, *, on_operation: OperationObserver | None = None
) -> MongoStore:
    """Connect to the server at `uri` and create the store's indexes if they are missing.

    The database is the URI's path (`mongodb://host/name`), `mykerio` if it has none. Raises
    `ConfigError` for an unusable URI and `Unavailable` if the server cannot be reached.
    """
    try:
        client: AsyncMongoClient[Document] = AsyncMongoClient(uri, tz_aware=True)
    except ConfigurationError as error:
        # The message names the problem, never the URI itself, which may hold a password.
        raise ConfigError(f"the MongoDB store URI is not usable: {error}") from error
    try:
        database = client.get_default_database(default=DEFAULT_DATABASE)
        await ensure_indexes(database)
        await purge_delivered_bodies(database)
    except ConnectionFailure as error:
        await client.close()
        raise Unavailable(f"the MongoDB server cannot be reached: {error}") from error
    except BaseException:
        await client.close()
        raise
    return MongoStore(client, database, on_operation)
