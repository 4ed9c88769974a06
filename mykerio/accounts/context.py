"""Values the account flows share: who is asking from where, and how links are built."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote


@dataclasses.dataclass(frozen=True, slots=True)
class Client:
    """Where a request came from, as recorded in the access audit."""

    ip: str
    user_agent: str


@dataclasses.dataclass(frozen=True, slots=True)
class Links:
    """Absolute links to the hub's pages, for emails.

    Tokens travel in the fragment (`#token=`), which browsers never send to a server: they stay
    out of request logs, proxies and Referer headers; the page's script reads them.
    """

    public_url: str

    def confirm_email(self, token: str) -> str:
        """The email-confirmation page for `token`."""
        return f"{self.public_url.rstrip('/')}/confirm#token={quote(token)}"

    def accept_invitation(self, token: str) -> str:
        """The page that accepts an invitation."""
        return f"{self.public_url.rstrip('/')}/invitations/accept#token={quote(token)}"

    def reset_password(self, token: str) -> str:
        """The set-a-new-password page for `token`."""
        return f"{self.public_url.rstrip('/')}/reset#token={quote(token)}"
