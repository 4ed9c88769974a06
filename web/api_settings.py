"""API: the logged-in user's Settings — password, 2-step verification, backup codes, phone,
email notifications."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, overload

from actors.accounts import AccountsActor
from mykerio.accounts.factors import TotpSetup
from mykerio.accounts.sessions import CurrentSession
from mykerio.errors import InvalidInput
from mykerio.models import User
from web.api_accounts import text
from web.auth import AccountHandler
from web.openapi import op

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

    openapi = {"get": op("The logged-in user and their sign-in settings", TAG, {"200": "User"})}

    async def get(self) -> None:
        """Profile, without secrets."""
        current = await self.me()
        user = current.user
        phone = await self.call(user.id, AccountsActor.masked_phone, user)
        self.write_json(
            {
                "id": user.id,
                "email": user.email,
                "full_name": user.full_name,
                "two_step": user.totp_secret is not None,
                "backup_codes_left": len(user.backup_codes),
                "phone": phone,
                "notifications": user.notifications,
                "session": {"persistent": current.session.persistent},
            }
        )


class PasswordHandler(SettingsHandler):
    """Changes the password."""

    openapi = {
        "post": op(
            "Change the password (current, new, confirm); other sessions end",
            TAG,
            {"204": "Changed", "400": "A field is invalid"},
            body={"current": "string", "password": "string", "confirm": "string"},
        )
    }

    async def post(self) -> None:
        """Change it."""
        body = self.json_body("current", "password", "confirm")
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
        "post": op(
            "Start 2-step verification: a new base32 secret, its otpauth URI and an SVG QR code. "
            "Needs the password unless this session logged in or confirmed it within 5 minutes",
            TAG,
            {"200": "Secret to scan or type", "400": "Password needed or wrong"},
            body={"password": "string"},
        )
    }

    async def post(self) -> None:
        """A new secret (valid 15 minutes until confirmed)."""
        setup: TotpSetup = await self.for_session(
            AccountsActor.begin_totp, text(self.json_body("password"), "password")
        )
        self.write_json({"secret": setup.secret, "uri": setup.uri, "qr_svg": setup.qr_svg})


class TotpHandler(SettingsHandler):
    """Finishes enrolling with a code from the app."""

    openapi = {
        "post": op(
            "Turn 2-step verification on with a code from the app",
            TAG,
            {"204": "On", "400": "Wrong code or expired set-up"},
            body={"code": "string"},
        )
    }

    async def post(self) -> None:
        """Enable."""
        await self.for_user(
            AccountsActor.enable_totp, text(self.json_body("code", "password"), "code")
        )
        self.set_status(204)
        self.finish()


class TotpDisableHandler(SettingsHandler):
    """Turns 2-step verification off."""

    openapi = {
        "post": op(
            "Turn 2-step verification off (password required); backup codes are voided",
            TAG,
            {"204": "Off", "400": "Wrong password"},
            body={"password": "string"},
        )
    }

    async def post(self) -> None:
        """Disable."""
        await self.for_session(
            AccountsActor.disable_totp, text(self.json_body("password"), "password")
        )
        self.set_status(204)
        self.finish()


class BackupCodesHandler(SettingsHandler):
    """Generates a new set of backup codes."""

    openapi = {
        "post": op(
            "Generate 10 single-use backup codes (password required), shown once; the previous "
            "set stops working",
            TAG,
            {"200": "The codes", "400": "Wrong password"},
            body={"password": "string"},
        )
    }

    async def post(self) -> None:
        """New codes."""
        codes = await self.for_session(
            AccountsActor.new_backup_codes, text(self.json_body("password"), "password")
        )
        self.write_json({"codes": list(codes)})


class PhoneHandler(SettingsHandler):
    """Starts saving a backup phone."""

    openapi = {
        "post": op(
            "Text a verification code to a backup phone in international format (+420 …). "
            "Needs the password unless this session logged in or confirmed it within 5 minutes",
            TAG,
            {
                "200": "Code sent; answers the masked number",
                "400": "Invalid number, or password needed or wrong",
            },
            body={"phone": "string", "password": "string"},
        )
    }

    async def post(self) -> None:
        """Send the code."""
        body = self.json_body("phone", "password")
        masked = await self.for_session(
            AccountsActor.begin_phone, text(body, "phone"), text(body, "password")
        )
        self.write_json({"sent_to": masked})


class PhoneVerifyHandler(SettingsHandler):
    """Saves the backup phone once its code comes back."""

    openapi = {
        "post": op(
            "Save the backup phone with the code texted to it",
            TAG,
            {"204": "Saved", "400": "Wrong or expired code"},
            body={"code": "string"},
        )
    }

    async def post(self) -> None:
        """Verify."""
        await self.for_user(
            AccountsActor.verify_phone, text(self.json_body("code", "password"), "code")
        )
        self.set_status(204)
        self.finish()


class PhoneRemoveHandler(SettingsHandler):
    """Removes the backup phone."""

    openapi = {
        "post": op(
            "Remove the backup phone (password required)",
            TAG,
            {"204": "Removed", "400": "Wrong password"},
            body={"password": "string"},
        )
    }

    async def post(self) -> None:
        """Remove."""
        await self.for_session(
            AccountsActor.remove_phone, text(self.json_body("password"), "password")
        )
        self.set_status(204)
        self.finish()


class NotificationsHandler(SettingsHandler):
    """Stores "Receive email notifications from MyKerio"."""

    openapi = {
        "put": op(
            "Receive email notifications from MyKerio (true or false)",
            TAG,
            {"204": "Stored"},
            body={"enabled": "boolean"},
        )
    }

    async def put(self) -> None:
        """Store the choice."""
        enabled = self.json_body("enabled").get("enabled")
        if not isinstance(enabled, bool):
            raise InvalidInput("enabled must be true or false")
        await self.for_user(AccountsActor.set_notifications, enabled)
        self.set_status(204)
        self.finish()
