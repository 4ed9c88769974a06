"""The OpenAPI document handler and static files with security headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tornado.web

from web.base import BaseHandler, apply_security_headers
from web.openapi import Answer, Operation

_OBJECT = {"type": "object"}


class OpenApiHandler(BaseHandler):
    """Serves the OpenAPI document built from the route table."""

    openapi = {
        "get": Operation(
            "This API's OpenAPI 3.1 document",
            "hub",
            {200: Answer("OpenAPI document", media_type="application/json", schema=_OBJECT)},
        )
    }

    def initialize(  # type: ignore[override]
        self, document: Callable[[], dict[str, Any]], **kwargs: Any
    ) -> None:
        """Store what makes the document (once, at its first use)."""
        super().initialize(**kwargs)
        self.document = document

    def get(self) -> None:
        """The document."""
        self.write_json(self.document())


class StaticHandler(tornado.web.StaticFileHandler):
    """Static files with the same security headers as pages."""

    def set_default_headers(self) -> None:
        """Security headers on static files too."""
        apply_security_headers(self)
