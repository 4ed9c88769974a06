"""AccountsActor: runs the account rules (`mykerio.accounts`) and mails what they produce.

Several identical actors share the work; a request goes to the one its account (email, user id
or token) hashes to, so one account's requests are handled in order while different accounts'
passwords hash in parallel. Every cross-request guarantee (single-use codes and links,
throttles) is also an atomic write in the store, so it holds across actors and processes.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from actors.runtime import LoopActor, LoopRuntime
from mykerio.accounts.audit import AccessAudit, AuditFilter
from mykerio.accounts.context import Client, Links
from mykerio.accounts.factors import Changed, SecondFactors, TotpSetup
from mykerio.accounts.hashing import AsyncPasswords
from mykerio.accounts.login import Authenticator, LoginStep
from mykerio.accounts.policy import AccountPolicy
from mykerio.accounts.recovery import Recovery
from mykerio.accounts.registration import Registered, Registration
from mykerio.accounts.sessions import CurrentSession, Publish, SessionInfo, Sessions
from mykerio.clock import Clock
from mykerio.mail.message import Email
from mykerio.models import AccessEvent, Invitation, Organization, User
from mykerio.organizations.founding import Founding
from mykerio.security.encryption import SecretBox
from mykerio.sms import SmsSender
from mykerio.store.base import Store

SendMail = Callable[[Email], Awaitable[Any]]


def shard_key(routing_key: str, shards: int) -> str:
    """The supervisor key of the accounts actor that serves `routing_key`."""
    digest = hashlib.blake2b(routing_key.strip().lower().encode(), digest_size=4).digest()
    return f"accounts:{int.from_bytes(digest, 'big') % shards}"


class AccountsActor(LoopActor):
    """One worker of the accounts feature."""

    kind = "accounts"

    def __init__(
        self,
        *,
        runtime: LoopRuntime,
        name: str | None = None,
        store: Store,
        passwords: AsyncPasswords,
        clock: Clock,
        policy: AccountPolicy,
        box: SecretBox,
        backup_code_key: bytes,
        sms: SmsSender,
        links: Links,
        send_mail: SendMail,
        publish: Publish,
    ) -> None:
        super().__init__(runtime=runtime, name=name)
        self._store = store
        self._send_mail = send_mail
        self._background: set[asyncio.Task[None]] = set()
        # Ended sessions are published (on this loop) so their live sockets close at once.
        self.sessions = Sessions(store, clock, policy, publish)
        self.audit_log = AccessAudit(store, clock, policy)
        self.registration = Registration(store, passwords, clock, links, policy)
        self.authenticator = Authenticator(
            store=store,
            passwords=passwords,
            clock=clock,
            policy=policy,
            sessions=self.sessions,
            audit=self.audit_log,
            box=box,
            backup_code_key=backup_code_key,
            sms=sms,
        )
        self.recovery = Recovery(store, passwords, clock, links, policy, self.sessions)
        self.organizations = Founding(store, clock)
        self.factors = SecondFactors(
            store=store,
            passwords=passwords,
            clock=clock,
            policy=policy,
            box=box,
            backup_code_key=backup_code_key,
            sms=sms,
        )

    async def register(
        self, full_name: str, email: str, password: str, client: Client
    ) -> Registered:
        """Create an account and its first organization, and mail the confirmation link."""
        registered = await self.registration.register(
            full_name=full_name, email=email, password=password
        )
        if registered.user is not None and registered.organization is not None:
            await self.organizations.record_created(
                registered.user, registered.organization, client
            )
        if registered.email is not None:
            await self._send_mail(registered.email)
        return registered

    async def confirm(self, token: str) -> User:
        """Confirm an email address by its link."""
        return await self.registration.confirm(token)

    def resend_confirmation(self, email: str) -> None:
        """Mail a new confirmation link if the address has an unconfirmed account.

        Answers at once and works in the background, so the answer takes the same time
        whether or not the address has an account.
        """
        self._in_background(self.registration.resend(email))

    async def login(self, email: str, password: str, persistent: bool, client: Client) -> LoginStep:
        """The password step of a login."""
        return await self.authenticator.login(email, password, persistent=persistent, client=client)

    async def second_factor(
        self, attempt_token: str, method: str, code: str, client: Client
    ) -> LoginStep:
        """The code step of a login."""
        return await self.authenticator.second_factor(attempt_token, method, code, client=client)

    async def send_login_sms(self, attempt_token: str) -> str:
        """Text a login code; returns the masked number."""
        return await self.authenticator.send_login_sms(attempt_token)

    async def logout(self, session_token: str, client: Client) -> None:
        """End a session."""
        await self.authenticator.logout(session_token, client=client)

    async def resolve(self, session_token: str) -> CurrentSession:
        """The user and session of a session cookie."""
        return await self.sessions.resolve(session_token)

    async def check_session(self, session_token: str) -> CurrentSession:
        """Like `resolve`, without counting as activity (a live socket's periodic check)."""
        return await self.sessions.resolve(session_token, touch=False)

    async def my_sessions(self, user: User, current_token: str) -> list[SessionInfo]:
        """The user's sessions for Settings, the caller's own marked."""
        return await self.sessions.list_for(user.id, current_token)

    async def end_session(self, user: User, session_id: str, client: Client) -> None:
        """End one of the user's sessions from Settings; the access audit records it."""
        session = await self.sessions.end_by_id(user.id, session_id)
        await self.audit_log.record(
            "logout",
            user_id=user.id,
            email=user.email,
            client=client,
            detail=f"ended from Settings: {session.ip}",
        )

    async def end_other_sessions(self, user: User, current_token: str, client: Client) -> int:
        """End every session of the user but the caller's; returns how many ended."""
        ended = await self.sessions.revoke_others(user.id, current_token, "ended_in_settings")
        if ended:
            await self.audit_log.record(
                "logout",
                user_id=user.id,
                email=user.email,
                client=client,
                detail=f"{ended} other sessions ended from Settings",
            )
        return ended

    async def change_password(
        self, user: User, current: str, new: str, confirm: str, keep_session: str
    ) -> None:
        """Change the password; other sessions end."""
        message = await self.recovery.change_password(
            user, current=current, new=new, confirm=confirm, keep_session=keep_session
        )
        await self._send_mail(message)

    def forgot_password(self, email: str) -> None:
        """Mail a reset link if the address has an account (in the background, like resend)."""
        self._in_background(self.recovery.forgot(email))

    async def check_reset_link(self, token: str) -> None:
        """`InvalidInput` unless the reset link still works; it stays usable."""
        await self.recovery.check_reset_link(token)

    async def reset_password(self, token: str, new: str, confirm: str) -> User:
        """Set a new password by a reset link; every session ends; the owner is emailed."""
        user, message = await self.recovery.reset(token, new=new, confirm=confirm)
        await self._send_mail(message)
        return user

    async def begin_totp(self, user: User, session_hash: str, password: str) -> TotpSetup:
        """Start enrolling an authenticator app (password, or one proved within 5 minutes)."""
        return await self.factors.begin_totp(user, session_hash, password)

    async def enable_totp(self, user: User, code: str) -> None:
        """Finish enrolling with a code from the app."""
        await self._mail_change(await self.factors.enable_totp(user, code))

    async def disable_totp(self, user: User, session_hash: str, password: str) -> None:
        """Turn 2-step verification off."""
        await self._mail_change(await self.factors.disable_totp(user, session_hash, password))

    async def new_backup_codes(
        self, user: User, session_hash: str, password: str
    ) -> tuple[str, ...]:
        """Replace the backup codes (password required); returns the new ones (shown once)."""
        changed = await self.factors.new_backup_codes(user, session_hash, password)
        await self._mail_change(changed)
        return changed.codes

    async def begin_phone(self, user: User, session_hash: str, phone: str, password: str) -> str:
        """Text a verification code to a new backup phone (password, or one proved recently)."""
        return await self.factors.begin_phone(user, session_hash, phone, password)

    async def verify_phone(self, user: User, code: str) -> None:
        """Save the backup phone once its code comes back."""
        await self._mail_change(await self.factors.verify_phone(user, code))

    async def remove_phone(self, user: User, session_hash: str, password: str) -> None:
        """Forget the backup phone."""
        await self._mail_change(await self.factors.remove_phone(user, session_hash, password))

    async def set_notifications(self, user: User, enabled: bool) -> None:
        """Store the "Receive email notifications from MyKerio" choice."""
        await self._store.users.set_notifications(user.id, enabled)

    def masked_phone(self, user: User) -> str:
        """The backup phone for display."""
        return self.factors.masked_phone(user)

    async def read_audit(self, reader_id: str, query: AuditFilter) -> list[AccessEvent]:
        """Access events the reader may see."""
        return await self.audit_log.read(reader_id, query)

    async def my_organizations(self, user: User) -> list[Organization]:
        """The organizations the user belongs to, by name (ignoring case)."""
        orgs = await self._store.organizations.of_user(user.id)
        return sorted(orgs, key=lambda org: (org.name.casefold(), org.id))

    async def create_organization(self, user: User, name: str, client: Client) -> Organization:
        """Create an organization with the user as its first member."""
        return await self.organizations.create(user, name, client)

    async def set_default_org(self, user: User, org_id: str) -> None:
        """Remember the organization the header's switcher last chose."""
        await self._store.users.set_default_org(user.id, org_id)

    async def find_invitation(self, token: str) -> Invitation | None:
        """The pending invitation a link's token belongs to, if it is still valid."""
        return await self.organizations.find_invitation(token)

    def _in_background(self, work: Coroutine[Any, Any, Email | None]) -> None:
        async def run() -> None:
            try:
                message = await work
                if message is not None:
                    await self._send_mail(message)
            except Exception:
                self.log.exception("background account work failed")

        task = self.runtime.loop.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _mail_change(self, changed: Changed) -> None:
        await self._send_mail(changed.email)
