"""NotifierActor: online/offline emails to the members of organizations, without alert storms.

It hears the organizations' typed events on the bus (`ApplianceChanged` and its kin) and applies
`mykerio.notifications.timing`: an appliance that goes offline starts its organization's grace;
one back within it is forgotten. When the grace ends, each member gets an "offline" line queued
for their next email — unless the flap floor holds it back (counted in the next one). A "back
online" line goes only to those who were told "offline". A person's first queued line opens
their batching window; when it ends, every line goes out as one email through the mailer (whose
outbox persists and retries it), to members who still belong to the organization and have not
turned off "Receive email notifications from MyKerio".

Everything pending lives in the store (`AlertRecord`: grace periods, queued lines, floors)
before it is acted on, so a restarted hub still sends each batch once. After a restart every
grace still running is given the whole grace again from the start: appliances reconnecting to
the restarted hub are not announced as offline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from actors.clients import ActorClient
from actors.runtime import LoopActor, LoopRuntime
from actors.supervisor import Cancellable, Scheduler
from mykerio.appliances.view import ApplianceView
from mykerio.bus import EventBus, Subscription
from mykerio.clock import Clock
from mykerio.errors import DomainError, NotFound
from mykerio.mail.message import Email
from mykerio.models import (
    AlertRecord,
    AlertSetting,
    Appliance,
    ApplianceNotification,
    User,
    Webhook,
    new_id,
)
from mykerio.notifications.digest import (
    NOTIFICATION,
    OFFLINE,
    ONLINE,
    DigestLine,
    status_digest,
)
from mykerio.notifications.notices import NoticeBook, NoticeView
from mykerio.notifications.preferences import (
    EMAIL_FROM,
    GRACE,
    MAINTENANCE,
    STATUS_EMAIL,
    Choice,
    OrgPreferences,
    checked_grace_minutes,
    checked_maintenance,
    checked_threshold,
    setting,
    severity_reaches,
)
from mykerio.notifications.timing import AlertTiming
from mykerio.organizations.events import (
    ApplianceAdded,
    ApplianceChanged,
    ApplianceRemoved,
    MemberRemoved,
    OrganizationDeleted,
)
from mykerio.protocol.notifications import TYPES, Cleared, Notice
from mykerio.store.base import Store

SendMail = Callable[[Email], Awaitable[Any]]
# Hands one webhook's lines of a window to the webhooks actor (which persists and posts them).
DeliverWebhook = Callable[[Webhook, tuple[DigestLine, ...]], Awaitable[Any]]
WEBHOOK = "webhook:"  # the recipient key of a webhook, beside people's user ids
RETRY_MAIL_SECONDS = 30.0  # the mailer was restarting: the batch waits in the store meanwhile


@dataclasses.dataclass(frozen=True, slots=True)
class NotifierBacklog:
    """What waits: appliances in their grace, and lines queued for emails."""

    graces: int
    queued: int
    people: int


@dataclasses.dataclass(frozen=True, slots=True)
class Preferences:
    """One member's notification choices in an organization, and its maintenance windows."""

    org_id: str
    choices: dict[str, Choice]  # "" (the organization) and appliances with their own
    maintenance: dict[str, datetime]  # appliance → end of its maintenance (past ones too)
    at: datetime  # the hub's time of this answer (which windows are still open)


@dataclasses.dataclass(frozen=True, slots=True)
class OrgNotificationSettings:
    """An organization's notification settings as its members see them."""

    grace_minutes: float
    default_grace_minutes: float
    batch_minutes: float


class NotifierActor(LoopActor):
    """Turns appliances' online/offline changes into few, batched emails."""

    kind = "notifier"

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        store: Store,
        clock: Clock,
        bus: EventBus,
        send_mail: SendMail,
        dashboard_url: str,
        timing: AlertTiming | None = None,
        schedule: Scheduler | None = None,
        deliver_webhook: DeliverWebhook | None = None,
    ) -> None:
        super().__init__(runtime=runtime, name=name)
        self._deliver_webhook = deliver_webhook
        self._webhooks: dict[str, list[Webhook]] = {}  # organization → its endpoints (read once)
        self._store = store
        self._clock = clock
        self._bus = bus
        self._send_mail = send_mail
        self._dashboard = dashboard_url
        self._timing = timing or AlertTiming()
        self._schedule: Scheduler = schedule or runtime.loop.call_later
        self._subscriptions: list[Subscription] = []
        self._online: dict[str, bool] = {}  # appliance → connected, as last heard
        self._members: dict[str, tuple[str, ...]] = {}  # organization → members, as last heard
        self._prefs: dict[str, OrgPreferences] = {}  # organization → its settings (read once)
        self._notices = NoticeBook(store, clock)
        self._grace: dict[str, AlertRecord] = {}  # appliance → its running grace
        self._grace_timers: dict[str, Cancellable] = {}
        self._floors: dict[str, dict[str, AlertRecord]] = {}  # appliance → user → floor
        self._queued: dict[str, list[AlertRecord]] = {}  # user → lines of their next email
        self._batch_timers: dict[str, Cancellable] = {}

    async def on_start(self) -> None:  # type: ignore[override]  # LoopActor allows async hooks
        """Hear the organizations' events, then resume what the store says is pending."""
        listener = _Listener(ActorClient(self.actor_ref, 60.0))
        bus = self._bus
        self._subscriptions = [
            bus.subscribe(ApplianceAdded, listener.appliance_added),
            bus.subscribe(ApplianceChanged, listener.appliance_changed),
            bus.subscribe(ApplianceRemoved, listener.appliance_removed),
            bus.subscribe(MemberRemoved, listener.member_removed),
            bus.subscribe(OrganizationDeleted, listener.organization_deleted),
        ]
        alerts = self._store.alerts
        await self._notices.load()
        started = self._clock.now()
        stale = []
        for floor in await alerts.of_kind("floor"):
            if not floor.told_down and started - floor.at >= self._timing.floor:
                stale.append(floor.id)  # no longer holds anything back, owes nothing
                continue
            floors = self._floors.setdefault(floor.appliance_id, {})
            older = floors.get(floor.user_id)
            if older is not None:
                stale.append(older.id)  # left by a crash between adding and deleting
            floors[floor.user_id] = floor
        await alerts.delete(stale)
        for line in await alerts.of_kind("queued"):
            self._queued.setdefault(line.user_id, []).append(line)
        for user_id, lines in self._queued.items():
            self._arm_batch(user_id, lines[0].at)
        for record in await alerts.of_kind("grace"):
            self._grace[record.appliance_id] = record
            grace = (await self._prefs_of(record.org_id)).grace()
            self._arm_grace(record.appliance_id, max(record.at, started) + grace)
        pending = sum(len(lines) for lines in self._queued.values())
        if pending or self._grace:
            self.log.info("notifications resumed", queued=pending, graces=len(self._grace))

    def on_stop(self) -> None:
        """Stop hearing events and forget the timers (the store keeps what is pending)."""
        for subscription in self._subscriptions:
            subscription.cancel()
        for timer in (*self._grace_timers.values(), *self._batch_timers.values()):
            timer.cancel()

    # Events (told by the listener)

    def appliance_added(self, event: ApplianceAdded) -> None:
        """A new appliance: note its state and its organization's members."""
        self._members[event.org_id] = event.user_ids
        self._online[event.appliance.id] = event.appliance.connected

    async def appliance_changed(self, event: ApplianceChanged) -> None:
        """An appliance's state changed: start a grace, or end one, or owe a "back online"."""
        view = event.appliance
        self._members[event.org_id] = event.user_ids
        before = self._online.get(view.id)
        self._online[view.id] = view.connected
        if view.connected and before is not True:
            await self._came_back(view)
        elif not view.connected and before is True:
            await self._went_offline(view)

    async def appliance_removed(self, event: ApplianceRemoved) -> None:
        """A removed appliance is no longer announced (its queued lines go too)."""
        appliance_id = event.appliance.id
        self._online.pop(appliance_id, None)
        self._grace.pop(appliance_id, None)
        timer = self._grace_timers.pop(appliance_id, None)
        if timer is not None:
            timer.cancel()
        self._floors.pop(appliance_id, None)
        for lines in self._queued.values():
            lines[:] = [line for line in lines if line.appliance_id != appliance_id]
        await self._notices.forget_appliance(appliance_id)
        await self._store.alerts.delete_for_appliance(appliance_id)

    def member_removed(self, event: MemberRemoved) -> None:
        """Removed people hear no more of the organization (checked again when sending)."""
        gone = set(event.user_ids)
        known = self._members.get(event.org_id)
        if known is not None:
            self._members[event.org_id] = tuple(u for u in known if u not in gone)

    def organization_deleted(self, event: OrganizationDeleted) -> None:
        """A deleted organization has no members to tell."""
        self._members[event.org_id] = ()
        self._prefs.pop(event.org_id, None)

    # Timers (told by the scheduler)

    async def grace_over(self, appliance_id: str) -> None:
        """The appliance is still offline after its grace: announce it."""
        self._grace_timers.pop(appliance_id, None)
        record = self._grace.pop(appliance_id, None)
        if record is None:
            return
        await self._announce_offline(record)
        await self._store.alerts.delete([record.id])

    def webhooks_changed(self, org_id: str) -> None:
        """The organization's webhooks changed: read them again when next needed."""
        self._webhooks.pop(org_id, None)

    async def send_batch(self, user_id: str) -> None:
        """The person's (or webhook's) window ended: send every queued line as one email (one
        webhook delivery)."""
        self._batch_timers.pop(user_id, None)
        lines = self._queued.pop(user_id, [])
        if not lines:
            return
        if user_id.startswith(WEBHOOK):
            await self._send_webhook(user_id, lines)
            return
        user = await self._store.users.by_id(user_id)
        digest = await self._digest_lines(user, lines)
        if user is not None and digest:
            try:
                await self._send_mail(
                    status_digest(user.email, user.full_name, digest, self._dashboard)
                )
            except DomainError as error:  # the mailer is restarting: keep the lines, try later
                self._queued[user_id] = lines + self._queued.get(user_id, [])
                self._batch_timers[user_id] = self._later(
                    RETRY_MAIL_SECONDS, NotifierActor.send_batch, user_id
                )
                self.log.warning("notification email delayed", error=error.message)
                return
            self.log.info("notification email queued", user_id=user_id, changes=len(digest))
        await self._store.alerts.delete([line.id for line in lines])

    async def _send_webhook(self, key: str, lines: list[AlertRecord]) -> None:
        webhook = next(
            (w for w in await self._webhooks_of(lines[0].org_id) if WEBHOOK + w.id == key), None
        )
        if webhook is not None and self._deliver_webhook is not None:
            digest = await self._digest_lines(None, lines)
            try:
                await self._deliver_webhook(webhook, tuple(digest))
            except DomainError as error:  # restarting: keep the lines, try later
                self._queued[key] = lines + self._queued.get(key, [])
                self._batch_timers[key] = self._later(
                    RETRY_MAIL_SECONDS, NotifierActor.send_batch, key
                )
                self.log.warning("webhook delivery delayed", error=error.message)
                return
        await self._store.alerts.delete([line.id for line in lines])

    def backlog(self) -> NotifierBacklog:
        """How much is pending (for metrics, benchmarks and tests)."""
        return NotifierBacklog(
            graces=len(self._grace),
            queued=sum(len(lines) for lines in self._queued.values()),
            people=sum(1 for lines in self._queued.values() if lines),
        )

    # Settings (asked by the web layer)

    async def notice_reported(self, appliance: Appliance, change: Notice | Cleared) -> None:
        """An appliance raised or cleared a notification: keep it; announce what is news."""
        news = await self._notices.apply(appliance, change)
        if news is not None:
            await self._announce_notice(appliance, news)

    async def appliance_notifications(self, user_id: str, org_id: str) -> list[NoticeView]:
        """The notifications of the organization's appliances, for one of its members."""
        await self._require_member(user_id, org_id)
        return await self._notices.of_org(user_id, org_id)

    async def dismiss_notification(self, user_id: str, org_id: str, notification_id: str) -> None:
        """A member dismisses a notification for themselves."""
        await self._require_member(user_id, org_id)
        await self._notices.dismiss(user_id, org_id, notification_id)

    async def preferences(self, user_id: str, org_id: str) -> Preferences:
        """The member's choices in the organization and its maintenance windows."""
        await self._require_member(user_id, org_id)
        prefs = await self._prefs_of(org_id)
        return Preferences(
            org_id, prefs.own_choices(user_id), prefs.maintenance(), self._clock.now()
        )

    async def set_choice(
        self, user_id: str, org_id: str, appliance_id: str, choice: Choice
    ) -> Preferences:
        """A member's choice for the organization (`appliance_id` `""`) or one appliance."""
        await self._require_member(user_id, org_id)
        if appliance_id:
            await self._require_appliance(org_id, appliance_id)
        checked_threshold(choice.email_from)
        now = self._clock.now()
        status = "on" if choice.status_email else "off"
        await self._put(setting(org_id, appliance_id, user_id, STATUS_EMAIL, status, now))
        await self._put(setting(org_id, appliance_id, user_id, EMAIL_FROM, choice.email_from, now))
        return await self.preferences(user_id, org_id)

    async def set_maintenance(
        self, user_id: str, org_id: str, appliance_id: str, until: datetime | None
    ) -> Preferences:
        """Silence an appliance's alerts until `until` (for everyone), or end that now."""
        await self._require_member(user_id, org_id)
        await self._require_appliance(org_id, appliance_id)
        now = self._clock.now()
        if until is None:
            await self._store.alert_settings.remove(
                setting(org_id, appliance_id, "", MAINTENANCE, "", now).id
            )
            self._prefs.pop(org_id, None)
        else:
            end = checked_maintenance(until, now).isoformat()
            await self._put(setting(org_id, appliance_id, "", MAINTENANCE, end, now))
            # A grace running now is dropped: what happens in maintenance is never announced.
            record = self._grace.pop(appliance_id, None)
            if record is not None:
                timer = self._grace_timers.pop(appliance_id, None)
                if timer is not None:
                    timer.cancel()
                await self._store.alerts.delete([record.id])
        return await self.preferences(user_id, org_id)

    async def org_settings(self, user_id: str, org_id: str) -> OrgNotificationSettings:
        """The organization's notification settings, for one of its members."""
        await self._require_member(user_id, org_id)
        grace = (await self._prefs_of(org_id)).grace()
        return OrgNotificationSettings(
            grace_minutes=grace.total_seconds() / 60,
            default_grace_minutes=self._timing.grace.total_seconds() / 60,
            batch_minutes=self._timing.window.total_seconds() / 60,
        )

    async def set_org_grace(
        self, user_id: str, org_id: str, minutes: float
    ) -> OrgNotificationSettings:
        """A member sets the organization's grace before "offline" (0 to 30 minutes)."""
        await self._require_member(user_id, org_id)
        grace = checked_grace_minutes(minutes)
        value = f"{grace.total_seconds():g}"
        await self._put(setting(org_id, "", "", GRACE, value, self._clock.now()))
        return await self.org_settings(user_id, org_id)

    # The rules

    async def _went_offline(self, view: ApplianceView) -> None:
        now = self._clock.now()
        prefs = await self._prefs_of(view.org_id)
        if view.id in self._grace or prefs.in_maintenance(view.id, now):
            return
        record = AlertRecord(
            id=new_id(),
            at=now,
            kind="grace",
            org_id=view.org_id,
            appliance_id=view.id,
            user_id="",
            appliance_name=view.name,
            change=OFFLINE,
            changed_at=now,
            repeats=0,
            told_down=False,
        )
        grace = prefs.grace()
        if grace <= timedelta(0):
            await self._announce_offline(record)
            return
        await self._store.alerts.add(record)
        self._grace[view.id] = record
        self._arm_grace(view.id, now + grace)

    async def _came_back(self, view: ApplianceView) -> None:
        record = self._grace.pop(view.id, None)
        if record is not None:  # back within its grace: nobody hears of it
            timer = self._grace_timers.pop(view.id, None)
            if timer is not None:
                timer.cancel()
            await self._store.alerts.delete([record.id])
            return
        now = self._clock.now()
        silent = (await self._prefs_of(view.org_id)).in_maintenance(view.id, now)
        for user_id, floor in list(self._floors.get(view.id, {}).items()):
            if not floor.told_down:
                continue  # never told "offline" (or held back): no "back online" either
            if not silent:  # (back in maintenance: not announced, and not owed later)
                await self._queue(user_id, view.org_id, view.id, view.name, ONLINE, now, 0)
            await self._replace_floor(floor, dataclasses.replace(floor, told_down=False))

    async def _announce_offline(self, record: AlertRecord) -> None:
        now = self._clock.now()
        prefs = await self._prefs_of(record.org_id)
        if prefs.in_maintenance(record.appliance_id, now):
            return
        floors = self._floors.setdefault(record.appliance_id, {})
        for user_id in await self._status_recipients(record.org_id, record.appliance_id, prefs):
            floor = floors.get(user_id)
            if floor is not None and now - floor.at < self._timing.floor:
                held = dataclasses.replace(floor, repeats=floor.repeats + 1)
                await self._replace_floor(floor, held)
                continue
            repeats = floor.repeats if floor is not None else 0
            await self._queue(
                user_id,
                record.org_id,
                record.appliance_id,
                record.appliance_name,
                OFFLINE,
                record.changed_at,
                repeats,
            )
            told = AlertRecord(
                id=new_id(),
                at=now,
                kind="floor",
                org_id=record.org_id,
                appliance_id=record.appliance_id,
                user_id=user_id,
                appliance_name=record.appliance_name,
                change=OFFLINE,
                changed_at=record.changed_at,
                repeats=0,
                told_down=True,
            )
            await self._replace_floor(floor, told)

    async def _announce_notice(
        self, appliance: Appliance, notification: ApplianceNotification
    ) -> None:
        now = self._clock.now()
        prefs = await self._prefs_of(appliance.org_id)
        if prefs.in_maintenance(appliance.id, now):
            return
        title = TYPES.get(notification.type, notification.type)
        detail = f"{title} ({notification.severity}): {notification.text}"
        recipients = [
            user_id
            for user_id in await self._members_of(appliance.org_id)
            if severity_reaches(
                notification.severity, prefs.choice(user_id, appliance.id).email_from
            )
        ]
        recipients.extend(
            WEBHOOK + webhook.id
            for webhook in await self._webhooks_of(appliance.org_id)
            if "notification" in webhook.events
            and severity_reaches(notification.severity, webhook.severity_from)
        )
        for user_id in recipients:
            await self._queue(
                user_id,
                appliance.org_id,
                appliance.id,
                appliance.name,
                NOTIFICATION,
                notification.raised_at,
                0,
                detail,
            )

    async def _queue(
        self,
        user_id: str,
        org_id: str,
        appliance_id: str,
        name: str,
        change: str,
        changed_at: datetime,
        repeats: int,
        detail: str = "",
    ) -> None:
        now = self._clock.now()
        line = AlertRecord(
            id=new_id(),
            at=now,
            kind="queued",
            org_id=org_id,
            appliance_id=appliance_id,
            user_id=user_id,
            appliance_name=name,
            change=change,
            changed_at=changed_at,
            repeats=repeats,
            told_down=False,
            detail=detail,
        )
        await self._store.alerts.add(line)
        self._queued.setdefault(user_id, []).append(line)
        if user_id not in self._batch_timers:
            self._arm_batch(user_id, now)

    async def _replace_floor(self, old: AlertRecord | None, new: AlertRecord) -> None:
        # Add the new state before deleting the old: a crash in between leaves both, and the
        # newer wins when the store is read again (`of_kind` is oldest first).
        new = dataclasses.replace(new, id=new_id())
        await self._store.alerts.add(new)
        if old is not None:
            await self._store.alerts.delete([old.id])
        self._floors.setdefault(new.appliance_id, {})[new.user_id] = new

    async def _digest_lines(self, user: User | None, lines: list[AlertRecord]) -> list[DigestLine]:
        """The lines as the email (`user`) or a webhook (None) shows them: only of
        organizations the person still belongs to, none if they opted out."""
        if user is not None and not user.notifications:
            return []
        names: dict[str, str | None] = {}
        digest = []
        for line in lines:
            if line.org_id not in names:
                organization = await self._store.organizations.by_id(line.org_id)
                member = user is None or await self._store.organizations.is_member(
                    line.org_id, user.id
                )
                names[line.org_id] = organization.name if organization and member else None
            organization_name = names[line.org_id]
            if organization_name is not None:
                digest.append(
                    DigestLine(
                        organization_name,
                        line.appliance_name,
                        line.change,
                        line.changed_at,
                        line.repeats,
                        line.detail,
                    )
                )
        return digest

    async def _status_recipients(
        self, org_id: str, appliance_id: str, prefs: OrgPreferences
    ) -> list[str]:
        """Who hears the appliance's online/offline changes: members who want the email, and
        the webhooks with the `status` event."""
        recipients = [
            user_id
            for user_id in await self._members_of(org_id)
            if prefs.choice(user_id, appliance_id).status_email
        ]
        recipients.extend(
            WEBHOOK + webhook.id
            for webhook in await self._webhooks_of(org_id)
            if "status" in webhook.events
        )
        return recipients

    async def _webhooks_of(self, org_id: str) -> list[Webhook]:
        known = self._webhooks.get(org_id)
        if known is None:
            known = self._webhooks[org_id] = await self._store.webhooks.of_org(org_id)
        return known

    async def _members_of(self, org_id: str) -> tuple[str, ...]:
        known = self._members.get(org_id)
        if known is None:
            members = await self._store.organizations.members(org_id)
            known = self._members[org_id] = tuple(m.user_id for m in members)
        return known

    async def _prefs_of(self, org_id: str) -> OrgPreferences:
        prefs = self._prefs.get(org_id)
        if prefs is None:
            settings = await self._store.alert_settings.for_org(org_id)
            prefs = self._prefs[org_id] = OrgPreferences(org_id, settings, self._timing.grace)
        return prefs

    async def _put(self, value: AlertSetting) -> None:
        await self._store.alert_settings.put(value)
        self._prefs.pop(value.org_id, None)  # read again when next needed

    async def _require_appliance(self, org_id: str, appliance_id: str) -> None:
        appliance = await self._store.appliances.by_id(appliance_id)
        if appliance is None or appliance.org_id != org_id:
            raise NotFound(f"appliance {appliance_id}")

    async def _require_member(self, user_id: str, org_id: str) -> None:
        if not await self._store.organizations.is_member(org_id, user_id):
            raise NotFound(f"organization {org_id}")

    def _arm_grace(self, appliance_id: str, due: datetime) -> None:
        delay = (due - self._clock.now()).total_seconds()
        self._grace_timers[appliance_id] = self._later(
            delay, NotifierActor.grace_over, appliance_id
        )

    def _arm_batch(self, user_id: str, opened_at: datetime) -> None:
        delay = (opened_at + self._timing.window - self._clock.now()).total_seconds()
        self._batch_timers[user_id] = self._later(delay, NotifierActor.send_batch, user_id)

    def _later(
        self, delay: float, method: Callable[[NotifierActor, str], Awaitable[None]], key: str
    ) -> Cancellable:
        me: ActorClient[NotifierActor] = ActorClient(self.actor_ref, 60.0)
        return self._schedule(max(0.0, delay), lambda: me.tell(method, key))


class _Listener:
    """The notifier's bus subscriber: one typed method per event, each told to the actor."""

    def __init__(self, notifier: ActorClient[NotifierActor]) -> None:
        self._notifier = notifier

    def appliance_added(self, event: ApplianceAdded) -> None:
        self._notifier.tell(NotifierActor.appliance_added, event)

    def appliance_changed(self, event: ApplianceChanged) -> None:
        self._notifier.tell(NotifierActor.appliance_changed, event)

    def appliance_removed(self, event: ApplianceRemoved) -> None:
        self._notifier.tell(NotifierActor.appliance_removed, event)

    def member_removed(self, event: MemberRemoved) -> None:
        self._notifier.tell(NotifierActor.member_removed, event)

    def organization_deleted(self, event: OrganizationDeleted) -> None:
        self._notifier.tell(NotifierActor.organization_deleted, event)
