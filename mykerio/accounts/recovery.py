"""Changing a password, and resetting a forgotten one by a single-use emailed link.

"Forgot password" answers the same whether or not the address has an account. Setting a new
password through the link ends every session of the account; changing it in Settings ends every
session but the one in use.
"""

from __future__ import annotations

from mykerio.accounts.context import Links
from mykerio.accounts.hashing import AsyncPasswords
from mykerio.accounts.login import login_key
from mykerio.accounts.policy import AccountPolicy
from mykerio.accounts.sessions import Sessions
from mykerio.accounts.throttling import Throttle
from mykerio.accounts.validation import FieldError, clean_email, clean_new_password
from mykerio.clock import Clock
from mykerio.errors import InvalidInput
from mykerio.mail import templates
from mykerio.mail.limits import MailLimits
from mykerio.mail.message import Email
from mykerio.models import OneTimeToken, User
from mykerio.security.passwords import MAX_PASSWORD_CHARS, normalise
from mykerio.security.tokens import new_token, token_hash
from mykerio.store.base import Store

RESET = "reset_password"


class Recovery:
    """Password change and reset."""

    def __init__(
        self,
        store: Store,
        passwords: AsyncPasswords,
        clock: Clock,
        links: Links,
        policy: AccountPolicy,
        sessions: Sessions,
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._clock = clock
        self._links = links
        self._mail_limits = MailLimits(store, clock)
        self._policy = policy
        self._sessions = sessions
        self._throttle = Throttle(store, clock)

    async def change_password(
        self, user: User, *, current: str, new: str, confirm: str, keep_session: str
    ) -> Email:
        """Replace the password after checking the current one; other sessions end."""
        key = login_key(user.email)
        await self._throttle.check(key, self._policy.login_failures, self._policy.login_window)
        if len(current) > MAX_PASSWORD_CHARS or not await self._passwords.verify(
            user.password_hash, normalise(current)
        ):
            await self._throttle.fail(key, self._policy.login_window)
            raise FieldError("current", "The current password is wrong.")
        clean = clean_new_password(new, confirm, full_name=user.full_name, email=user.email)
        await self._store.users.set_password_hash(
            user.id, await self._passwords.hash(clean), self._clock.now()
        )
        await self._sessions.revoke_others(user.id, keep_session)
        return templates.security_change(
            user.email, user.full_name, "Your MyKerio password was changed."
        )

    async def forgot(self, email: str) -> Email | None:
        """The reset email if `email` has an account, else None (the caller answers the same)."""
        try:
            address = clean_email(email)
        except FieldError:
            return None
        user = await self._store.users.by_email(address)
        if user is None or not await self._mail_limits.allow("reset", user.email):
            return None
        await self._store.tokens.delete_for_user(user.id, RESET)
        token = new_token()
        now = self._clock.now()
        await self._store.tokens.add(
            OneTimeToken(
                token_hash=token_hash(token),
                purpose=RESET,
                user_id=user.id,
                created_at=now,
                expires_at=now + self._policy.reset_valid,
                data="",
            )
        )
        return templates.reset_password(
            user.email, user.full_name, self._links.reset_password(token)
        )

    async def check_reset_link(self, token: str) -> User:
        """The account a still-valid reset link belongs to (the link stays usable)."""
        found = await self._store.tokens.peek(token_hash(token), RESET, self._clock.now())
        user = await self._store.users.by_id(found.user_id) if found else None
        if user is None:
            raise InvalidInput("This reset link is not valid any more. Ask for a new one.")
        return user

    async def reset(self, token: str, *, new: str, confirm: str) -> tuple[User, Email]:
        """Set a new password through a reset link; the link is used up and all sessions end."""
        user = await self.check_reset_link(token)
        clean = clean_new_password(new, confirm, full_name=user.full_name, email=user.email)
        # Consuming is the atomic single-use gate; checking first keeps a bad password from
        # using up the link.
        if await self._store.tokens.consume(token_hash(token), RESET, self._clock.now()) is None:
            raise InvalidInput("This reset link is not valid any more. Ask for a new one.")
        await self._store.users.set_password_hash(
            user.id, await self._passwords.hash(clean), self._clock.now()
        )
        if user.confirmed_at is None:
            # The link proved the address is theirs.
            user = await self._store.users.confirm(user.id, self._clock.now())
        await self._sessions.revoke_others(user.id, None, "password_reset")
        await self._throttle.clear(login_key(user.email))
        return user, templates.security_change(
            user.email, user.full_name, "Your MyKerio password was reset with an emailed link."
        )
