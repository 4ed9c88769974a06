"""The numbers behind account security: session lifetimes, throttles and link validity."""

from __future__ import annotations

import dataclasses
from datetime import timedelta


@dataclasses.dataclass(frozen=True, slots=True)
class AccountPolicy:
    """Limits of the accounts feature (DESIGN.md section 4; defaults from the accounts issue)."""

    session_idle: timedelta = timedelta(minutes=15)
    # Without "Keep me logged in", a session ends this long after login even if always in use.
    session_lifetime: timedelta = timedelta(hours=12)
    persistent_session: timedelta = timedelta(days=30)
    # Touch a session's last-seen time at most this often (one write per minute per session).
    session_touch: timedelta = timedelta(minutes=1)
    login_failures: int = 10
    login_window: timedelta = timedelta(minutes=15)
    login_attempt_valid: timedelta = timedelta(minutes=10)
    codes_per_login: int = 5
    codes_per_account: int = 10
    codes_window: timedelta = timedelta(minutes=15)
    sms_per_account: int = 3
    sms_window: timedelta = timedelta(minutes=15)
    sms_code_valid: timedelta = timedelta(minutes=10)
    confirmation_valid: timedelta = timedelta(days=7)
    reset_valid: timedelta = timedelta(hours=1)
    setup_valid: timedelta = timedelta(minutes=15)
    # A login or password confirmation this recent lets a second factor be added without
    # typing the password again.
    reauthentication_valid: timedelta = timedelta(minutes=5)
    audit_retention: timedelta = timedelta(days=365)
