"""Who is asking: session cookies, the accounts actors, and handlers that need a logged-in user.

The session cookie is `__Host-mk_session` (Secure, HttpOnly, SameSite=Lax, Path=/, no Domain);
a login waiting for its second factor carries `__Host-mk_login` instead. Both hold random
tokens whose hashes are what the store keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, overload

from actors.accounts import AccountsActor
from actors.router import Router
from mykerio.accounts.context import Client
from mykerio.accounts.sessions import CurrentSession
from mykerio.errors import Unauthorized
from web.base import BaseHandler

SESSION_COOKIE = "__Host-mk_session"
LOGIN_COOKIE = "__Host-mk_login"
P = ParamSpec("P")
R = TypeVar("R")


class AccountHandler(BaseHandler):
    """A handler that talks to the accounts actors."""

    router: Router
    # How long a "Keep me logged in" cookie lives (the session's own limit).
    persistent_days: int
    _current: CurrentSession | None

    def initialize(  # type: ignore[override]
        self, router: Router, persistent_days: int = 30, **kwargs: Any
    ) -> None:
        """Store the router (the way to every actor)."""
        super().initialize(**kwargs)
        self.router = router
        self.persistent_days = persistent_days
        self._current = None

    @property
    def client(self) -> Client:
        """Address and browser of the caller, for the access audit."""
        return Client(
            ip=self.request.remote_ip or "",
            user_agent=self.request.headers.get("User-Agent", "")[:300],
        )

    @overload
    async def call(
        self,
        routing_key: str,
        method: Callable[Concatenate[AccountsActor, P], Coroutine[Any, Any, R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @overload
    async def call(
        self,
        routing_key: str,
        method: Callable[Concatenate[AccountsActor, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    async def call(
        self, routing_key: str, method: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """Run `method` (an `AccountsActor` method) in the accounts actor of `routing_key`."""
        return await self.router.accounts(routing_key).call(method, *args, **kwargs)

    def session_token(self) -> str:
        """The session cookie's token, or an empty string."""
        return self.get_cookie(SESSION_COOKIE) or ""

    async def current_session(self) -> CurrentSession:
        """The logged-in user; `Unauthorized` (or `SessionExpired`) otherwise."""
        if self._current is None:
            token = self.session_token()
            if not token:
                raise Unauthorized("Log in first.")
            self._current = await self.call(token, AccountsActor.resolve, token)
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
            expires_days=self.persistent_days if persistent else None,
        )

    def end_session(self) -> None:
        """Drop the session cookie."""
        self.clear_cookie(SESSION_COOKIE, path="/", secure=True, samesite="Lax")

    def remember_login(self, attempt_token: str) -> None:
        """Keep the half-finished login (waiting for its second factor) in a cookie."""
        self.set_cookie(
            LOGIN_COOKIE, attempt_token, path="/", secure=True, httponly=True, samesite="Lax"
        )
