"""The Backups page (guide 2.6.2): the selected organization's configuration backups by
appliance, with download, delete and "Back up now", and how to import a backup on Kerio Control
and Kerio Operator. Its own template and script (`backups.html`, `backups.js`) so that the
dashboard shell can change around it; the page reads everything from the Backups API."""

from __future__ import annotations

from web.openapi import page
from web.pages import PageHandler


class BackupsPage(PageHandler):
    """The Backups section."""

    template = "backups.html"
    needs_login = True
    org_picker = True  # the backups of one organization at a time
    openapi = page("Configuration backups (HTML; login required)", "pages")
