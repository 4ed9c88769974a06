"""Bodies of the logged-in user's Settings: password, 2-step verification, backup codes, backup
phone, email notifications, and their own sessions."""

from __future__ import annotations

from pydantic import Field

from web.models.base import RequestModel, ResponseModel, Timestamp

PROVED_RECENTLY = "Not needed if this session logged in or confirmed the password within 5 minutes"


class PasswordChangeRequest(RequestModel):
    """The current password, and the new one typed twice."""

    current: str
    password: str
    confirm: str


class PasswordRequest(RequestModel):
    """The account's password, for a change that needs it."""

    password: str


class RecentPasswordRequest(RequestModel):
    """The account's password, unless this session proved it recently."""

    password: str = Field("", description=PROVED_RECENTLY)


class VerificationCodeRequest(RequestModel):
    """A code from the authenticator app, or the one texted to the new phone."""

    code: str
    # The forms used to send the password along with the code; it is accepted and not read.
    password: str = Field("", description="Ignored")


class PhoneRequest(RequestModel):
    """A backup phone number in international format (+420 …)."""

    phone: str
    password: str = Field("", description=PROVED_RECENTLY)


class NotificationsRequest(RequestModel):
    """Receive email notifications from MyKerio."""

    enabled: bool


class SessionSettings(ResponseModel):
    """The current session's own settings."""

    persistent: bool = Field(description='Logged in with "Keep me logged in"')


class Me(ResponseModel):
    """The logged-in user and their sign-in settings, without secrets."""

    id: str
    email: str
    full_name: str
    two_step: bool = Field(description="2-step verification is on")
    backup_codes_left: int
    phone: str = Field(description='The backup phone, masked; "" if none')
    notifications: bool
    session: SessionSettings


class TotpSetup(ResponseModel):
    """A new authenticator secret to scan or type (valid 15 minutes until confirmed)."""

    secret: str = Field(description="base32")
    uri: str = Field(description="otpauth:// URI")
    qr_svg: str = Field(description="The URI as an SVG QR code")


class BackupCodes(ResponseModel):
    """Ten single-use backup codes, shown once."""

    codes: list[str]


class Session(ResponseModel):
    """One of the user's sessions (times in ISO 8601, UTC)."""

    id: str = Field(description="Ends the session: DELETE /api/v1/me/sessions/{id}")
    device: str = Field(description="From the browser's User-Agent")
    ip: str
    created_at: Timestamp
    last_seen: Timestamp
    expires_at: Timestamp
    persistent: bool
    current: bool = Field(description="This session")


class Sessions(ResponseModel):
    """This session first, then the most recently seen."""

    sessions: list[Session]


class SessionsEnded(ResponseModel):
    """How many sessions ended."""

    ended: int
