"""Registration and email confirmation.

Registering stores the account unconfirmed, creates its first organization (named after the
email's domain) and produces the confirmation email; the single-use link confirms it.
Unconfirmed accounts cannot log in and may ask for a new link.
"""

from __future__ import annotations

import dataclasses

from mykerio.accounts.context import Links
from mykerio.accounts.hashing import AsyncPasswords
from mykerio.accounts.policy import AccountPolicy
from mykerio.accounts.validation import (
    FieldError,
    clean_email,
    clean_full_name,
    clean_new_password,
    organization_name_for,
)
from mykerio.clock import Clock
from mykerio.errors import Conflict, InvalidInput
from mykerio.mail import templates
from mykerio.mail.limits import MailLimits
from mykerio.mail.message import Email
from mykerio.models import OneTimeToken, Organization, User, new_id
from mykerio.security.tokens import new_token, token_hash
from mykerio.store.base import Store

CONFIRM = "confirm_email"


@dataclasses.dataclass(frozen=True, slots=True)
class Registered:
    """The outcome of a registration and the email to send.

    For an address that already has an account nothing is created (`user` and `organization`
    are None) and the email tells its owner; the caller answers exactly as for a new account,
    so registering cannot be used to find out which addresses have accounts.
    """

    email: Email | None  # None past the address's mail limit: nothing is sent
    user: User | None = None
    organization: Organization | None = None


class Registration:
    """Creates and confirms accounts."""

    def __init__(
        self,
        store: Store,
        passwords: AsyncPasswords,
        clock: Clock,
        links: Links,
        policy: AccountPolicy,
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._clock = clock
        self._links = links
        self._policy = policy
        self._mail_limits = MailLimits(store, clock)

    async def register(self, *, full_name: str, email: str, password: str) -> Registered:
        """Create an unconfirmed account and its organization; `FieldError` names what is wrong."""
        name = clean_full_name(full_name)
        address = clean_email(email)
        clean = clean_new_password(password, None, full_name=name, email=address)
        # Hash before looking the address up, so both outcomes cost the same time.
        password_hash = await self._passwords.hash(clean)
        existing = await self._store.users.by_email(address)
        if existing is not None:
            return Registered(email=await self._already_registered(existing))
        now = self._clock.now()
        user = User(
            id=new_id(),
            email=address,
            full_name=name,
            password_hash=password_hash,
            created_at=now,
            confirmed_at=None,
            password_changed_at=now,
        )
        try:
            user = await self._store.users.add(user)
        except Conflict:
            # Two registrations for one address raced; the other one won.
            winner = await self._store.users.by_email(address)
            assert winner is not None
            return Registered(email=await self._already_registered(winner))
        organization = await self._store.organizations.add(
            Organization(id=new_id(), name=organization_name_for(address), created_at=now)
        )
        await self._store.organizations.add_member(organization.id, user.id, now)
        first = None
        if await self._mail_limits.allow("confirmation", address):
            first = await self._link_email(user)
        return Registered(email=first, user=user, organization=organization)

    async def _already_registered(self, user: User) -> Email | None:
        # Registering an address again mails its owner: limited like its confirmation links.
        if not await self._mail_limits.allow("confirmation", user.email):
            return None
        return templates.already_registered(
            user.email,
            user.full_name,
            f"{self._links.public_url.rstrip('/')}/login",
            f"{self._links.public_url.rstrip('/')}/forgot",
        )

    async def confirm(self, token: str) -> User:
        """Confirm the account of a confirmation link; the link then stops working."""
        found = await self._store.tokens.consume(token_hash(token), CONFIRM, self._clock.now())
        if found is None:
            raise InvalidInput(
                "This confirmation link is not valid any more. Log in to ask for a new one."
            )
        return await self._store.users.confirm(found.user_id, self._clock.now())

    async def resend(self, email: str) -> Email | None:
        """A fresh confirmation email if `email` belongs to an unconfirmed account, else None.

        Older links stop working. The caller answers the same either way, so the answer does
        not tell whether an account exists.
        """
        try:
            address = clean_email(email)
        except FieldError:
            return None
        user = await self._store.users.by_email(address)
        if user is None or user.confirmed_at is not None:
            return None
        if not await self._mail_limits.allow("confirmation", user.email):
            return None  # the earlier links keep working
        await self._store.tokens.delete_for_user(user.id, CONFIRM)
        return await self._link_email(user)

    async def _link_email(self, user: User) -> Email:
        token = new_token()
        now = self._clock.now()
        await self._store.tokens.add(
            OneTimeToken(
                token_hash=token_hash(token),
                purpose=CONFIRM,
                user_id=user.id,
                created_at=now,
                expires_at=now + self._policy.confirmation_valid,
                data="",
            )
        )
        return templates.confirm_email(user.email, user.full_name, self._links.confirm_email(token))
