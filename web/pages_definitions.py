"""The Shared Definitions pages: IP Addresses, URL Groups, Time Ranges (guide section 4.3).

One template (`definitions.html`) and one script (`static/definitions.js`) for the three kinds;
each page says its kind. The dashboard's navigation links them at `/definitions/ip-addresses`,
`/definitions/url-groups` and `/definitions/time-ranges`.
"""

from __future__ import annotations

from collections.abc import Callable

import tornado.web

from mykerio.definitions.model import IP_TYPES, TIME_TYPES, URL_TYPES, Kind
from web.openapi import Route, page
from web.pages import TAG, PageHandler


class DefinitionsPage(PageHandler):
    """A kind's shared groups, each appliance's sync, import and history."""

    template = "definitions.html"
    needs_login = True
    org_picker = True  # one organization's definitions at a time
    kind = Kind.IP
    title = ""
    entry_types: tuple[str, ...] = ()

    async def get(self) -> None:
        """Render the page (or redirect to the login page)."""
        current = await self.page_user()
        if current is None:
            return
        await self.show(
            current, kind=self.kind.value, title=self.title, entry_types=",".join(self.entry_types)
        )


class IpAddressesPage(DefinitionsPage):
    """Shared IP address groups."""

    kind = Kind.IP
    title = "IP Addresses"
    entry_types = IP_TYPES
    openapi = page("Shared IP address groups (HTML; login required)", TAG)


class UrlGroupsPage(DefinitionsPage):
    """Shared URL groups."""

    kind = Kind.URL
    title = "URL Groups"
    entry_types = URL_TYPES
    openapi = page("Shared URL groups (HTML; login required)", TAG)


class TimeRangesPage(DefinitionsPage):
    """Shared time ranges."""

    kind = Kind.TIME
    title = "Time Ranges"
    entry_types = TIME_TYPES
    openapi = page("Shared time ranges (HTML; login required)", TAG)


def routes(account_route: Callable[[str, type[tornado.web.RequestHandler]], Route]) -> list[Route]:
    """The three pages (web/app.py adds them to its table)."""
    return [
        account_route("/definitions/ip-addresses", IpAddressesPage),
        account_route("/definitions/url-groups", UrlGroupsPage),
        account_route("/definitions/time-ranges", TimeRangesPage),
    ]
