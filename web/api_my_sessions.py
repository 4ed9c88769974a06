"""API: the logged-in user's own sessions — list them, end one, end all the others (Settings)."""

from __future__ import annotations

from actors.accounts import AccountsActor
from mykerio.accounts.sessions import CurrentSession, public_session_id
from web.auth import AccountHandler
from web.models.settings import Session, Sessions, SessionsEnded
from web.openapi import Answer, Operation

TAG = "settings"


class MySessionsHandler(AccountHandler):
    """GET lists the user's sessions; DELETE ends every one but the caller's."""

    openapi = {
        "get": Operation(
            "The logged-in user's sessions, this one first, then the most recently seen: "
            "`device` (from the browser's User-Agent), `ip`, `last_seen`, `expires_at`, and "
            "`current` for this session",
            TAG,
            {200: Answer("Sessions", Sessions)},
            {401: "Not logged in"},
        ),
        "delete": Operation(
            "End every session of the user except this one; their open dashboards close at "
            "once. Answers how many ended",
            TAG,
            {200: Answer("Ended", SessionsEnded)},
            {401: "Not logged in"},
        ),
    }

    async def get(self) -> None:
        """The list."""
        current: CurrentSession = await self.current_session()
        token = self.session_token()
        sessions = await self.call(current.user.id, AccountsActor.my_sessions, current.user, token)
        self.write_model(Sessions(sessions=[Session.model_validate(info) for info in sessions]))

    async def delete(self) -> None:
        """End the others."""
        current: CurrentSession = await self.current_session()
        token = self.session_token()
        ended = await self.call(
            current.user.id, AccountsActor.end_other_sessions, current.user, token, self.client
        )
        self.write_model(SessionsEnded(ended=ended))


class MySessionHandler(AccountHandler):
    """DELETE ends one of the user's sessions."""

    openapi = {
        "delete": Operation(
            "End one of your sessions by its `id` from the list; its open dashboards close at "
            "once. Ending this session logs you out. 404 if it already ended or is not yours",
            TAG,
            {204: Answer("Ended")},
            {401: "Not logged in", 404: "No such session"},
        )
    }

    async def delete(self, session_id: str) -> None:
        """End it."""
        current: CurrentSession = await self.current_session()
        user = current.user
        await self.call(user.id, AccountsActor.end_session, user, session_id, self.client)
        if session_id == public_session_id(current.session.id_hash):
            self.end_session()  # it was this one: drop the cookie too
        self.set_status(204)
        self.finish()
