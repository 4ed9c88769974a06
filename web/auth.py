"""Who is asking: session cookies, the accounts actors, and handlers that need a logged-in user.

The session cookie is `__Host-mk_session` (Secure, HttpOnly, SameSite=Lax, Path=/, no Domain);
a login waiting for its second factor carries `__Host-mk_login` instead. Both hold random
tokens whose hashes are what the store keeps.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pykka import ActorRef
from pykka.messages import ProxyCall

from actors.accounts import shard_key
from actors.supervisor import Supervisor
from mykerio.accounts.context import Client
from mykerio.accounts.sessions import CurrentSession
from mykerio.errors import Unauthorized, Unavailable
from web.base import BaseHandler

SESSION_COOKIE = "__Host-mk_session"
LOGIN_COOKIE = "__Host-mk_login"


@dataclasses.dataclass(frozen=True, slots=True)
class AccountsDirectory:
    """Finds the accounts actor that serves a given account."""

    supervisor: Supervisor
    shards: int
    # How long a "Keep me logged in" cookie lives (the session's own limit).
    persistent_days: int = 30

    def ref(self, routing_key: str) -> ActorRef[Any]:
        """The live actor for `routing_key`; `Unavailable` while it restarts."""
        ref = self.supervisor.get(shard_key(routing_key, self.shards))
        if ref is None:
            raise Unavailable("Accounts are restarting; try again in a moment.")
        return ref


class AccountHandler(BaseHandler):
    """A handler that talks to the accounts actors."""

    accounts: AccountsDirectory
    _current: CurrentSession | None

    def initialize(self, accounts: AccountsDirectory, **kwargs: Any) -> None:  # type: ignore[override]
        """Store the accounts directory."""
        super().initialize(**kwargs)
        self.accounts = accounts
        self._current = None

    @property
    def client(self) -> Client:
        """Address and browser of the caller, for the access audit."""
        return Client(
            ip=self.request.remote_ip or "",
            user_agent=self.request.headers.get("User-Agent", "")[:300],
        )

    async def call(self, routing_key: str, method: str, *args: Any) -> Any:
        """Call `method` on the accounts actor of `routing_key` and await its answer."""
        ref = self.accounts.ref(routing_key)
        return await self.ask(ref, ProxyCall(attr_path=(method,), args=args, kwargs={}))

    def session_token(self) -> str:
        """The session cookie's token, or an empty string."""
        return self.get_cookie(SESSION_COOKIE) or ""

    async def current_session(self) -> CurrentSession:
        """The logged-in user; `Unauthorized` (or `SessionExpired`) otherwise."""
        if self._current is None:
            token = self.session_token()
            if not token:
                raise Unauthorized("Log in first.")
            self._current = await self.call(token, "resolve", token)
        return self._current

    def start_session(self, token: str, persistent: bool) -> None:
        """Set the session cookie (a browser-session cookie unless "Keep me logged in")."""
        self.clear_cookie(LOGIN_COOKIE, path="/", secure=True)
        self.set_cookie(
            SESSION_COOKIE,
            token,
            path="/",
            secure=True,
            httponly=True,
            samesite="Lax",
            expires_days=self.accounts.persistent_days if persistent else None,
        )

    def end_session(self) -> None:
        """Drop the session cookie."""
        self.clear_cookie(SESSION_COOKIE, path="/", secure=True, samesite="Lax")

    def remember_login(self, attempt_token: str) -> None:
        """Keep the half-finished login (waiting for its second factor) in a cookie."""
        self.set_cookie(
            LOGIN_COOKIE, attempt_token, path="/", secure=True, httponly=True, samesite="Lax"
        )
