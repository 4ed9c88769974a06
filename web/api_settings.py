"""API: the logged-in user's Settings — password, 2-step verification, backup codes, phone,
email notifications."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, overload

from actors.accounts import AccountsActor
from mykerio.accounts.factors import TotpSetup
from mykerio.accounts.sessions import CurrentSession
from mykerio.models import User
from web.api_accounts import text
from web.auth import AccountHandler
from web.models import settings as models
from web.models.base import Sent
from web.models.settings import (
    NotificationsRequest,
    PasswordChangeRequest,
    PasswordRequest,
    PhoneRequest,
    RecentPasswordRequest,
    VerificationCodeRequest,
)
from web.openapi import Answer, Operation

TAG = "settings"
P = ParamSpec("P")
R = TypeVar("R")


class SettingsHandler(AccountHandler):
    """Base of the settings handlers: every call needs a session and goes to the user's actor."""

    async def me(self) -> CurrentSession:
        """The logged-in user (401 otherwise)."""
        return await self.current_session()

    @overload
    async def for_user(
        self,
        method: Callable[Concatenate[AccountsActor, User, P], Coroutine[Any, Any, R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @overload
    async def for_user(
        self,
        method: Callable[Concatenate[AccountsActor, User, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    async def for_user(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `method(user, *args)` in the logged-in user's accounts actor."""
        current = await self.me()
        return await self.router.accounts(current.user.id).call(
            method, current.user, *args, **kwargs
        )

    @overload
    async def for_session(
        self,
        method: Callable[Concatenate[AccountsActor, User, str, P], Coroutine[Any, Any, R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @overload
    async def for_session(
        self,
        method: Callable[Concatenate[AccountsActor, User, str, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    async def for_session(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `method(user, session_hash, *args)`: for changes that need a recent password."""
        current = await self.me()
        accounts = self.router.accounts(current.user.id)
        return await accounts.call(method, current.user, current.session.id_hash, *args, **kwargs)


class MeHandler(SettingsHandler):
    """The logged-in user's profile and sign-in settings."""

    openapi = {
        "get": Operation(
            "The logged-in user and their sign-in settings",
            TAG,
            {200: Answer("User", models.Me)},
            {401: "Not logged in"},
        )
    }

    async def get(self) -> None:
        """Profile, without secrets."""
        current = await self.me()
        user = current.user
        phone = await self.call(user.id, AccountsActor.masked_phone, user)
        self.write_model(
            models.Me(
                id=user.id,
                email=user.email,
                full_name=user.full_name,
                two_step=user.totp_secret is not None,
                backup_codes_left=len(user.backup_codes),
                phone=phone,
                notifications=user.notifications,
                session=models.SessionSettings(persistent=current.session.persistent),
            )
        )


class PasswordHandler(SettingsHandler):
    """Changes the password."""

    openapi = {
        "post": Operation(
            "Change the password (current, new, confirm); other sessions end",
            TAG,
            {204: Answer("Changed")},
            {400: "A field is invalid", 401: "Not logged in"},
            body=PasswordChangeRequest,
        )
    }

    async def post(self) -> None:
        """Change it."""
        body = self.body(PasswordChangeRequest)
        await self.for_user(
            AccountsActor.change_password,
            text(body, "current"),
            text(body, "password"),
            text(body, "confirm"),
            self.session_token(),
        )
        self.set_status(204)
        self.finish()


class TotpSetupHandler(SettingsHandler):
    """Starts enrolling an authenticator app."""

    openapi = {
        "post": Operation(
            "Start 2-step verification: a new base32 secret, its otpauth URI and an SVG QR code. "
            "Needs the password unless this session logged in or confirmed it within 5 minutes",
            TAG,
            {200: Answer("Secret to scan or type", models.TotpSetup)},
            {400: "Password needed or wrong", 401: "Not logged in"},
            body=RecentPasswordRequest,
        )
    }

    async def post(self) -> None:
        """A new secret (valid 15 minutes until confirmed)."""
        setup: TotpSetup = await self.for_session(
            AccountsActor.begin_totp, text(self.body(RecentPasswordRequest), "password")
        )
        self.write_model(models.TotpSetup.model_validate(setup))


class TotpHandler(SettingsHandler):
    """Finishes enrolling with a code from the app."""

    openapi = {
        "post": Operation(
            "Turn 2-step verification on with a code from the app",
            TAG,
            {204: Answer("On")},
            {400: "Wrong code or expired set-up", 401: "Not logged in"},
            body=VerificationCodeRequest,
        )
    }

    async def post(self) -> None:
        """Enable."""
        await self.for_user(
            AccountsActor.enable_totp, text(self.body(VerificationCodeRequest), "code")
        )
        self.set_status(204)
        self.finish()


class TotpDisableHandler(SettingsHandler):
    """Turns 2-step verification off."""

    openapi = {
        "post": Operation(
            "Turn 2-step verification off (password required); backup codes are voided",
            TAG,
            {204: Answer("Off")},
            {400: "Wrong password", 401: "Not logged in"},
            body=PasswordRequest,
        )
    }

    async def post(self) -> None:
        """Disable."""
        await self.for_session(
            AccountsActor.disable_totp, text(self.body(PasswordRequest), "password")
        )
        self.set_status(204)
        self.finish()


class BackupCodesHandler(SettingsHandler):
    """Generates a new set of backup codes."""

    openapi = {
        "post": Operation(
            "Generate 10 single-use backup codes (password required), shown once; the previous "
            "set stops working",
            TAG,
            {200: Answer("The codes", models.BackupCodes)},
            {400: "Wrong password", 401: "Not logged in"},
            body=PasswordRequest,
        )
    }

    async def post(self) -> None:
        """New codes."""
        codes = await self.for_session(
            AccountsActor.new_backup_codes, text(self.body(PasswordRequest), "password")
        )
        self.write_model(models.BackupCodes(codes=list(codes)))


class PhoneHandler(SettingsHandler):
    """Starts saving a backup phone."""

    openapi = {
        "post": Operation(
            "Text a verification code to a backup phone in international format (+420 …). "
            "Needs the password unless this session logged in or confirmed it within 5 minutes",
            TAG,
            {200: Answer("Code sent; answers the masked number", Sent)},
            {400: "Invalid number, or password needed or wrong", 401: "Not logged in"},
            body=PhoneRequest,
        )
    }

    async def post(self) -> None:
        """Send the code."""
        body = self.body(PhoneRequest)
        masked = await self.for_session(
            AccountsActor.begin_phone, text(body, "phone"), text(body, "password")
        )
        self.write_model(Sent(sent_to=masked))


class PhoneVerifyHandler(SettingsHandler):
    """Saves the backup phone once its code comes back."""

    openapi = {
        "post": Operation(
            "Save the backup phone with the code texted to it",
            TAG,
            {204: Answer("Saved")},
            {400: "Wrong or expired code", 401: "Not logged in"},
            body=VerificationCodeRequest,
        )
    }

    async def post(self) -> None:
        """Verify."""
        await self.for_user(
            AccountsActor.verify_phone, text(self.body(VerificationCodeRequest), "code")
        )
        self.set_status(204)
        self.finish()


class PhoneRemoveHandler(SettingsHandler):
    """Removes the backup phone."""

    openapi = {
        "post": Operation(
            "Remove the backup phone (password required)",
            TAG,
            {204: Answer("Removed")},
            {400: "Wrong password", 401: "Not logged in"},
            body=PasswordRequest,
        )
    }

    async def post(self) -> None:
        """Remove."""
        await self.for_session(
            AccountsActor.remove_phone, text(self.body(PasswordRequest), "password")
        )
        self.set_status(204)
        self.finish()


class NotificationsHandler(SettingsHandler):
    """Stores "Receive email notifications from MyKerio"."""

    openapi = {
        "put": Operation(
            "Receive email notifications from MyKerio (true or false)",
            TAG,
            {204: Answer("Stored")},
            {401: "Not logged in"},
            body=NotificationsRequest,
        )
    }

    async def put(self) -> None:
        """Store the choice."""
        enabled = self.body(NotificationsRequest).enabled
        await self.for_user(AccountsActor.set_notifications, enabled)
        self.set_status(204)
        self.finish()
