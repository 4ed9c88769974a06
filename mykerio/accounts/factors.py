"""Second factors in Settings: the authenticator app (TOTP), backup codes and the backup phone.

A factor is saved only once the user proves they have it: a TOTP secret after a code from the
app, a phone after the code texted to it. Secrets and phone numbers are sealed (AES-GCM) before
they reach the store; backup codes are stored as keyed hashes. Every change produces an email
to the account's owner.

Every change needs the password: adding a factor (the authenticator app, a backup phone) also
goes without it within 5 minutes of the session's login or last password confirmation
(`RecentAuthentication`); turning 2-step verification off, removing the phone and generating
new backup codes always ask for it. A right password counts as a fresh confirmation.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from datetime import timedelta

from mykerio.accounts.hashing import AsyncPasswords
from mykerio.accounts.login import PHONE_PURPOSE, TOTP_PURPOSE, codes_key, login_key, sms_key
from mykerio.accounts.policy import AccountPolicy
from mykerio.accounts.reauthentication import RecentAuthentication
from mykerio.accounts.throttling import Throttle
from mykerio.accounts.validation import FieldError
from mykerio.clock import Clock
from mykerio.errors import InvalidInput
from mykerio.mail import templates
from mykerio.mail.message import Email
from mykerio.models import OneTimeToken, User
from mykerio.security import backup_codes, totp
from mykerio.security.encryption import SecretBox
from mykerio.security.passwords import MAX_PASSWORD_CHARS, normalise
from mykerio.security.phone import mask_phone, normalise_phone
from mykerio.security.tokens import numeric_code, same, token_hash
from mykerio.sms import SmsSender
from mykerio.store.base import Store

TOTP_SETUP = "totp_setup"
PHONE_SETUP = "phone_setup"


@dataclasses.dataclass(frozen=True, slots=True)
class TotpSetup:
    """What the Settings page shows to enrol an authenticator app."""

    secret: str
    uri: str
    qr_svg: str


@dataclasses.dataclass(frozen=True, slots=True)
class Changed:
    """A saved change and the email that tells the owner about it."""

    email: Email
    codes: tuple[str, ...] = ()


class SecondFactors:
    """Enrols, replaces and removes a user's second factors."""

    def __init__(
        self,
        *,
        store: Store,
        passwords: AsyncPasswords,
        clock: Clock,
        policy: AccountPolicy,
        box: SecretBox,
        backup_code_key: bytes,
        sms: SmsSender,
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._clock = clock
        self._policy = policy
        self._box = box
        self._backup_code_key = backup_code_key
        self._sms = sms
        self._throttle = Throttle(store, clock)
        self._recent = RecentAuthentication(store, clock, policy)

    async def begin_totp(self, user: User, session_hash: str, password: str) -> TotpSetup:
        """A new secret to scan or type; saved only by `enable_totp` with a code from it.

        Needs the password unless the session proved it within 5 minutes. Refused while
        2-step verification is on: replacing a working factor must go through disabling it,
        which needs the password.
        """
        if user.totp_secret is not None:
            raise InvalidInput("2-step verification is already on. Disable it first to replace it.")
        await self._confirm_recently(user, session_hash, password)
        secret = totp.new_secret()
        sealed = self._box.seal(secret.encode(), purpose=TOTP_PURPOSE)
        await self._replace_setup(user, TOTP_SETUP, base64.b64encode(sealed).decode())
        uri = totp.provisioning_uri(secret, user.email)
        # Drawing the QR code takes ~20 ms of CPU: off the event loop.
        svg = await asyncio.get_running_loop().run_in_executor(None, totp.qr_svg, uri)
        return TotpSetup(secret=secret, uri=uri, qr_svg=svg)

    async def enable_totp(self, user: User, code: str) -> Changed:
        """Save the secret from `begin_totp` if `code` comes from it."""
        setup = await self._store.tokens.peek(
            _setup_key(TOTP_SETUP, user), TOTP_SETUP, self._clock.now()
        )
        if setup is None:
            raise InvalidInput("Start the set-up again: it expired.")
        await self._take_guess(user)
        sealed = base64.b64decode(setup.data)
        secret = self._box.open(sealed, purpose=TOTP_PURPOSE).decode()
        step = totp.matching_step(secret, code, at=self._clock.now(), last_used_step=None)
        if step is None:
            raise FieldError("code", "That code is not valid. Check the time on your phone.")
        if (
            await self._store.tokens.consume(setup.token_hash, TOTP_SETUP, self._clock.now())
            is None
        ):
            raise InvalidInput("Start the set-up again: it expired.")
        await self._store.users.set_totp(user.id, sealed)
        await self._store.users.claim_totp_step(user.id, step)  # this code is now used
        return Changed(self._notice(user, "2-step verification was turned on for your account."))

    async def disable_totp(self, user: User, session_hash: str, password: str) -> Changed:
        """Turn 2-step verification off (password required); backup codes are voided."""
        await self._confirm(user, session_hash, password)
        await self._store.users.set_totp(user.id, None)
        await self._store.users.set_backup_codes(user.id, ())
        return Changed(self._notice(user, "2-step verification was turned off for your account."))

    async def new_backup_codes(self, user: User, session_hash: str, password: str) -> Changed:
        """Ten fresh single-use codes, shown once; the previous set stops working."""
        if user.totp_secret is None:
            raise InvalidInput("Turn on 2-step verification first.")
        await self._confirm(user, session_hash, password)
        codes = backup_codes.generate(10)
        hashes = tuple(backup_codes.hash_code(code, self._backup_code_key) for code in codes)
        await self._store.users.set_backup_codes(user.id, hashes)
        return Changed(
            self._notice(user, "New backup codes were generated; the old ones no longer work."),
            codes=tuple(codes),
        )

    async def begin_phone(self, user: User, session_hash: str, phone: str, password: str) -> str:
        """Text a code to `phone` (saved once the code comes back); returns the number masked.

        Needs the password unless the session proved it within 5 minutes.
        """
        try:
            number = normalise_phone(phone)
        except InvalidInput as exc:
            raise FieldError("phone", exc.message) from None
        await self._confirm_recently(user, session_hash, password)
        # While code entry is locked the texted code would be refused: send no text then.
        await self._throttle.check(
            codes_key(user.id), self._policy.codes_per_account, self._policy.codes_window
        )
        await self._throttle.take(
            sms_key(user.id), self._policy.sms_per_account, self._policy.sms_window
        )
        code = numeric_code(6)
        sealed = self._box.seal(number.encode(), purpose=PHONE_PURPOSE)
        await self._replace_setup(
            user,
            PHONE_SETUP,
            f"{base64.b64encode(sealed).decode()}:{token_hash(code)}",
            valid=self._policy.sms_code_valid,
        )
        await self._sms.send(number, f"Your MyKerio verification code is {code}.")
        return mask_phone(number)

    async def verify_phone(self, user: User, code: str) -> Changed:
        """Save the phone from `begin_phone` if `code` is the one texted to it."""
        setup = await self._store.tokens.peek(
            _setup_key(PHONE_SETUP, user), PHONE_SETUP, self._clock.now()
        )
        if setup is None:
            raise InvalidInput("The code expired. Enter the number again.")
        await self._take_guess(user)
        sealed_text, _, code_hash = setup.data.partition(":")
        if not same(token_hash(code.strip()), code_hash):
            raise FieldError("code", "That code is not valid.")
        if (
            await self._store.tokens.consume(setup.token_hash, PHONE_SETUP, self._clock.now())
            is None
        ):
            raise InvalidInput("The code expired. Enter the number again.")
        await self._store.users.set_phone(user.id, base64.b64decode(sealed_text))
        return Changed(self._notice(user, "A backup phone was saved for your account."))

    async def remove_phone(self, user: User, session_hash: str, password: str) -> Changed:
        """Forget the backup phone (password required)."""
        await self._confirm(user, session_hash, password)
        await self._store.users.set_phone(user.id, None)
        return Changed(self._notice(user, "The backup phone was removed from your account."))

    def masked_phone(self, user: User) -> str:
        """The saved phone for display, or an empty string."""
        if user.phone is None:
            return ""
        return mask_phone(self._box.open(user.phone, purpose=PHONE_PURPOSE).decode())

    async def _confirm_recently(self, user: User, session_hash: str, password: str) -> None:
        """The password if one is typed; without it, a proof from the last 5 minutes."""
        if password or not await self._recent.is_recent(session_hash):
            if not password:
                raise FieldError("password", "Enter your password to confirm this change.")
            await self._confirm(user, session_hash, password)

    async def _confirm(self, user: User, session_hash: str, password: str) -> None:
        """Check the password and record it as the session's latest proof."""
        await self._check_password(user, password)
        await self._recent.record(user.id, session_hash)

    async def _check_password(self, user: User, password: str) -> None:
        # Wrong passwords here count toward the login lockout, so a stolen session cannot be
        # used to guess the password faster than the login form allows.
        if not password:
            raise FieldError("password", "The password is required.")
        key = login_key(user.email)
        await self._throttle.check(key, self._policy.login_failures, self._policy.login_window)
        if len(password) > MAX_PASSWORD_CHARS or not await self._passwords.verify(
            user.password_hash, normalise(password)
        ):
            await self._throttle.fail(key, self._policy.login_window)
            raise FieldError("password", "The password is wrong.")

    async def _take_guess(self, user: User) -> None:
        await self._throttle.take(
            codes_key(user.id), self._policy.codes_per_account, self._policy.codes_window
        )

    async def _replace_setup(
        self, user: User, purpose: str, data: str, valid: timedelta | None = None
    ) -> None:
        await self._store.tokens.delete_for_user(user.id, purpose)
        now = self._clock.now()
        await self._store.tokens.add(
            OneTimeToken(
                token_hash=_setup_key(purpose, user),
                purpose=purpose,
                user_id=user.id,
                created_at=now,
                expires_at=now + (valid or self._policy.setup_valid),
                data=data,
            )
        )

    def _notice(self, user: User, change: str) -> Email:
        return templates.security_change(user.email, user.full_name, change)


def _setup_key(purpose: str, user: User) -> str:
    # A set-up in progress is found by its user, so its key is derived, not random: it is a
    # lookup key, not a secret (the secret inside is sealed).
    return token_hash(f"{purpose}:{user.id}")
