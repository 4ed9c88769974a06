"""Who hears what, by which channel: the notification preferences of an organization's
members, and its appliances' maintenance windows (issue 15, item 3).

Each person chooses, for a whole organization and for single appliances (which win over the
organization's choice), whether online/offline changes reach them by email and from which
severity appliance notifications do (`off`, `warning` or `error`). A maintenance window (an
end time, per appliance, for everyone) silences the appliance: no offline is started, no
notification announced, and when it ends nothing that happened in it is sent ("resolved"
included). The opt-out "Receive email notifications from MyKerio" is the person's own and stops
every email of this module, never confirmation, invitation, removal or reset mail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta

from mykerio.errors import InvalidInput
from mykerio.models import AlertSetting, alert_setting_id

GRACE = "grace_seconds"
MAINTENANCE = "maintenance_until"
STATUS_EMAIL = "status_email"  # "on" or "off"
EMAIL_FROM = "email_from"  # "off", "warning" or "error"
THRESHOLDS = ("off", "warning", "error")
DEFAULT_EMAIL_FROM = "error"
MAX_GRACE_MINUTES = 30
MAX_MAINTENANCE = timedelta(days=30)


@dataclasses.dataclass(frozen=True, slots=True)
class Choice:
    """One person's choices for an organization or one of its appliances."""

    status_email: bool = True
    email_from: str = DEFAULT_EMAIL_FROM


def severity_reaches(severity: str, threshold: str) -> bool:
    """Whether a notification of `severity` passes a channel's `threshold`."""
    if threshold == "off":
        return False
    return threshold == "warning" or severity == "error"


class OrgPreferences:
    """An organization's notification settings, read from its `AlertSetting`s."""

    def __init__(self, org_id: str, settings: Iterable[AlertSetting], default_grace: timedelta):
        self.org_id = org_id
        self._default_grace = default_grace
        self._values: dict[tuple[str, str, str], AlertSetting] = {}
        for setting in settings:
            self._values[(setting.appliance_id, setting.user_id, setting.name)] = setting

    def grace(self) -> timedelta:
        """How long an appliance may be offline before it is announced."""
        setting = self._values.get(("", "", GRACE))
        return timedelta(seconds=float(setting.value)) if setting else self._default_grace

    def maintenance_until(self, appliance_id: str) -> datetime | None:
        """The end of the appliance's maintenance window, if one was set."""
        setting = self._values.get((appliance_id, "", MAINTENANCE))
        return datetime.fromisoformat(setting.value) if setting else None

    def in_maintenance(self, appliance_id: str, now: datetime) -> bool:
        """Whether the appliance's alerts are silenced now."""
        until = self.maintenance_until(appliance_id)
        return until is not None and now < until

    def choice(self, user_id: str, appliance_id: str = "") -> Choice:
        """What `user_id` chose for the appliance (or the organization, for `""`): the
        appliance's own choice, else the organization's, else the defaults."""
        values = {}
        for name in (STATUS_EMAIL, EMAIL_FROM):
            for scope in ((appliance_id, user_id, name), ("", user_id, name)):
                setting = self._values.get(scope)
                if setting is not None:
                    values[name] = setting.value
                    break
        return Choice(
            status_email=values.get(STATUS_EMAIL, "on") == "on",
            email_from=values.get(EMAIL_FROM, DEFAULT_EMAIL_FROM),
        )

    def own_choices(self, user_id: str) -> dict[str, Choice]:
        """`user_id`'s choices by scope: `""` for the organization, else appliance ids that
        have choices of their own."""
        scopes = {"": self.choice(user_id)}
        for appliance_id, owner, _ in self._values:
            if owner == user_id and appliance_id:
                scopes[appliance_id] = self.choice(user_id, appliance_id)
        return scopes

    def maintenance(self) -> dict[str, datetime]:
        """Every appliance's maintenance end that was set."""
        return {
            appliance_id: datetime.fromisoformat(setting.value)
            for (appliance_id, owner, name), setting in self._values.items()
            if name == MAINTENANCE and not owner
        }


def setting(
    org_id: str, appliance_id: str, user_id: str, name: str, value: str, at: datetime
) -> AlertSetting:
    """A setting to store."""
    return AlertSetting(
        id=alert_setting_id(org_id, appliance_id, user_id, name),
        at=at,
        org_id=org_id,
        appliance_id=appliance_id,
        user_id=user_id,
        name=name,
        value=value,
    )


def checked_grace_minutes(minutes: float) -> timedelta:
    """A grace a member chose, or `InvalidInput` outside 0 to 30 minutes."""
    if not 0 <= minutes <= MAX_GRACE_MINUTES:
        raise InvalidInput(f"The grace period is from 0 to {MAX_GRACE_MINUTES} minutes.")
    return timedelta(minutes=minutes)


def checked_threshold(value: str) -> str:
    """`off`, `warning` or `error`, else `InvalidInput`."""
    if value not in THRESHOLDS:
        raise InvalidInput("The severity is off, warning or error.")
    return value


def checked_maintenance(until: datetime, now: datetime) -> datetime:
    """A maintenance end in the next 30 days, else `InvalidInput`."""
    if until.tzinfo is None:
        raise InvalidInput("The end of the maintenance needs a time zone.")
    if not now < until <= now + MAX_MAINTENANCE:
        raise InvalidInput("The maintenance ends within the next 30 days.")
    return until
