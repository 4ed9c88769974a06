"""Logging in: the password step, the second factor, SMS codes during login, and logging out.

Throttles (DESIGN.md section 4): 10 failed logins of one account within 15 minutes refuse
further attempts — also with the right password, from any address — until the window passes; a
success resets the count. An unknown account gets the same answer after the same work (a dummy
hash), so the answer never tells whether an address is registered. Second-factor guesses are
limited to 5 per login attempt and 10 per account per 15 minutes, counted across TOTP, backup
and SMS codes.
"""

from __future__ import annotations

import dataclasses

from mykerio.accounts.audit import AccessAudit
from mykerio.accounts.context import Client
from mykerio.accounts.hashing import AsyncPasswords
from mykerio.accounts.policy import AccountPolicy
from mykerio.accounts.reauthentication import RecentAuthentication
from mykerio.accounts.sessions import Sessions
from mykerio.accounts.throttling import Throttle
from mykerio.clock import Clock
from mykerio.errors import Forbidden, InvalidInput, TooManyRequests, Unauthorized
from mykerio.models import LoginAttempt, User, email_key
from mykerio.security import backup_codes, totp
from mykerio.security.encryption import SecretBox
from mykerio.security.passwords import MAX_PASSWORD_CHARS, normalise
from mykerio.security.phone import mask_phone
from mykerio.security.tokens import new_token, numeric_code, same, token_hash
from mykerio.sms import SmsSender
from mykerio.store.base import Store

TOTP_PURPOSE = "totp-secret"
PHONE_PURPOSE = "phone"
WRONG_CREDENTIALS = "Wrong email or password."
METHODS = ("totp", "backup", "sms")


class WrongCredentials(Unauthorized):
    """The email and password do not match an account (or the account is unknown)."""

    code = "wrong_credentials"


class WrongCode(Unauthorized):
    """The second-factor code is wrong, used before, or expired."""

    code = "wrong_code"


class NotConfirmed(Forbidden):
    """The account's email address is not confirmed yet."""

    code = "email_not_confirmed"


class LoginExpired(Unauthorized):
    """The half-finished login is gone (too old, finished, or too many wrong codes)."""

    code = "login_expired"


@dataclasses.dataclass(frozen=True, slots=True)
class LoginStep:
    """The outcome of a login step: a session, or a pending login that needs a code."""

    user: User
    session_token: str = ""
    attempt_token: str = ""
    methods: tuple[str, ...] = ()
    persistent: bool = False


class Authenticator:
    """Checks credentials and codes, throttles guesses, and opens sessions."""

    def __init__(
        self,
        *,
        store: Store,
        passwords: AsyncPasswords,
        clock: Clock,
        policy: AccountPolicy,
        sessions: Sessions,
        audit: AccessAudit,
        box: SecretBox,
        backup_code_key: bytes,
        sms: SmsSender,
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._clock = clock
        self._policy = policy
        self._sessions = sessions
        self._audit = audit
        self._box = box
        self._backup_code_key = backup_code_key
        self._sms = sms
        self._throttle = Throttle(store, clock)
        self._recent = RecentAuthentication(store, clock, policy)

    async def login(
        self, email: str, password: str, *, persistent: bool, client: Client
    ) -> LoginStep:
        """The password step."""
        if len(password) > MAX_PASSWORD_CHARS:
            raise InvalidInput(f"A password can have at most {MAX_PASSWORD_CHARS} characters.")
        address = email.strip()
        key = login_key(address)
        now = self._clock.now()
        user = await self._store.users.by_email(address)
        try:
            await self._throttle.check(key, self._policy.login_failures, self._policy.login_window)
        except TooManyRequests:
            await self._audit.record(
                "login_failed",
                user_id=user.id if user else "",
                email=address,
                client=client,
                detail="too many failed logins",
            )
            raise
        clean = normalise(password)
        if user is None:
            await self._passwords.dummy_verify(clean)
            await self._throttle.fail(key, self._policy.login_window)
            await self._audit.record(
                "login_failed", user_id="", email=address, client=client, detail="unknown account"
            )
            raise WrongCredentials(WRONG_CREDENTIALS)
        if not await self._passwords.verify(user.password_hash, clean):
            await self._throttle.fail(key, self._policy.login_window)
            await self._audit.record(
                "login_failed",
                user_id=user.id,
                email=user.email,
                client=client,
                detail="wrong password",
            )
            raise WrongCredentials(WRONG_CREDENTIALS)
        await self._throttle.clear(key)
        if user.confirmed_at is None:
            await self._audit.record(
                "login_failed",
                user_id=user.id,
                email=user.email,
                client=client,
                detail="email not confirmed",
            )
            raise NotConfirmed("Confirm your email address first: open the link we emailed you.")
        if self._passwords.needs_rehash(user.password_hash):
            await self._store.users.set_password_hash(
                user.id, await self._passwords.hash(clean), now
            )
        if user.totp_secret is None:
            return await self._open_session(user, persistent, client, "password")
        token = new_token()
        await self._store.login_attempts.add(
            LoginAttempt(
                id_hash=token_hash(token),
                user_id=user.id,
                created_at=now,
                persistent=persistent,
                guesses=0,
                sms_code_hash=None,
                sms_expires_at=None,
            )
        )
        methods = METHODS if user.phone else METHODS[:2]
        return LoginStep(user=user, attempt_token=token, methods=methods)

    async def second_factor(
        self, attempt_token: str, method: str, code: str, *, client: Client
    ) -> LoginStep:
        """The code step: a TOTP, backup or SMS code for a pending login."""
        if method not in METHODS:
            raise InvalidInput(f"method must be one of {', '.join(METHODS)}")
        attempt, user = await self._pending(attempt_token)
        # Every guess counts, recorded before it is checked, so parallel guesses cannot race
        # past the limit.
        await self._throttle.take(
            codes_key(user.id), self._policy.codes_per_account, self._policy.codes_window
        )
        guesses = await self._store.login_attempts.add_guess(attempt.id_hash)
        if guesses > self._policy.codes_per_login:
            await self._store.login_attempts.delete(attempt.id_hash)
            raise LoginExpired("Too many wrong codes for this login. Log in again.")
        if not await self._code_matches(user, attempt, method, code):
            await self._audit.record(
                "login_failed",
                user_id=user.id,
                email=user.email,
                client=client,
                detail=f"wrong {method} code",
            )
            raise WrongCode("That code is not valid. Check it and try again.")
        # Deleting the attempt is the single-use gate for the attempt itself.
        if not await self._store.login_attempts.delete(attempt.id_hash):
            raise LoginExpired("This login is already finished. Log in again.")
        return await self._open_session(user, attempt.persistent, client, method)

    async def send_login_sms(self, attempt_token: str) -> str:
        """Text a 6-digit code for a pending login; returns the masked number it went to."""
        attempt, user = await self._pending(attempt_token)
        if user.phone is None:
            raise InvalidInput("This account has no backup phone.")
        # While code entry is locked the right code would be refused: send no text then.
        await self._throttle.check(
            codes_key(user.id), self._policy.codes_per_account, self._policy.codes_window
        )
        await self._throttle.take(
            sms_key(user.id), self._policy.sms_per_account, self._policy.sms_window
        )
        now = self._clock.now()
        code = numeric_code(6)
        await self._store.login_attempts.set_sms_code(
            attempt.id_hash, token_hash(code), now + self._policy.sms_code_valid
        )
        phone = self._box.open(user.phone, purpose=PHONE_PURPOSE).decode()
        await self._sms.send(
            phone, f"Your MyKerio login code is {code}. It is valid for 10 minutes."
        )
        return mask_phone(phone)

    async def logout(self, session_token: str, *, client: Client) -> None:
        """End the session; the audit records it."""
        session = await self._sessions.revoke(session_token)
        if session is None:
            return
        user = await self._store.users.by_id(session.user_id)
        await self._audit.record(
            "logout", user_id=session.user_id, email=user.email if user else "", client=client
        )

    async def _pending(self, attempt_token: str) -> tuple[LoginAttempt, User]:
        attempt = await self._store.login_attempts.get(token_hash(attempt_token or "-"))
        if (
            attempt is None
            or self._clock.now() - attempt.created_at > self._policy.login_attempt_valid
        ):
            raise LoginExpired("This login has expired. Log in again.")
        user = await self._store.users.by_id(attempt.user_id)
        if user is None or user.totp_secret is None:
            raise LoginExpired("This login has expired. Log in again.")
        return attempt, user

    async def _code_matches(
        self, user: User, attempt: LoginAttempt, method: str, code: str
    ) -> bool:
        if method == "totp":
            assert user.totp_secret is not None
            secret = self._box.open(user.totp_secret, purpose=TOTP_PURPOSE).decode()
            step = totp.matching_step(
                secret, code, at=self._clock.now(), last_used_step=user.totp_last_step
            )
            # The store's conditional write makes the code single-use even between processes.
            return step is not None and await self._store.users.claim_totp_step(user.id, step)
        if method == "backup":
            hashed = backup_codes.hash_code(
                backup_codes.normalise_code(code), self._backup_code_key
            )
            return await self._store.users.use_backup_code(user.id, hashed)
        if attempt.sms_code_hash is None or attempt.sms_expires_at is None:
            return False
        if self._clock.now() > attempt.sms_expires_at:
            return False
        return same(token_hash(code.strip()), attempt.sms_code_hash)

    async def _open_session(
        self, user: User, persistent: bool, client: Client, how: str
    ) -> LoginStep:
        token = await self._sessions.create(user, persistent=persistent, client=client)
        await self._recent.record(user.id, token_hash(token))
        await self._audit.record(
            "login", user_id=user.id, email=user.email, client=client, detail=how
        )
        return LoginStep(user=user, session_token=token, persistent=persistent)


def login_key(email: str) -> str:
    """Throttle key of an account's failed password checks (also for unknown addresses)."""
    return f"login:{email_key(email.strip())}"


def codes_key(user_id: str) -> str:
    """Throttle key of an account's second-factor guesses."""
    return f"codes:{user_id}"


def sms_key(user_id: str) -> str:
    """Throttle key of the texts sent to an account's phone."""
    return f"sms:{user_id}"
