"""The simulator's definitions over HTTP: Kerio's JSON-RPC look-alike and a listing page.

`POST /admin/api/jsonrpc/` takes a JSON-RPC 2.0 request (`{"jsonrpc": "2.0", "id", "method":
"IpAddressGroups.get", "params"}`) as a real Kerio Control's administration API does, for the
three definition kinds (`mykerio.agent.definitions.LocalDefinitions.rpc`); `Session.login`
answers a token so that Kerio clients run unchanged (the simulator's admin UI listens on
loopback only and checks no password). `GET /definitions` lists local and shared definitions
with the version of each kind; `GET /api/definitions` is the same as JSON.
"""

from __future__ import annotations

import html
import json
import secrets
import urllib.parse
from typing import Any

from tornado.web import RequestHandler

from mykerio.agent.definitions import LocalDefinitions, RpcError
from mykerio.definitions.model import Kind

MAX_RPC_BYTES = 256 * 1024
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"


class _DefinitionsHandler(RequestHandler):
    definitions: LocalDefinitions | None

    def initialize(self, link: Any) -> None:
        self.definitions = link.definitions

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")

    def _listing(self) -> dict[str, Any]:
        local = self.definitions
        if local is None:
            return {}
        return {
            kind.value: {
                "version": local.version(kind),
                "shared": local.shared(kind),
                "local": local.local(kind),
            }
            for kind in Kind
        }


class JsonRpcApi(_DefinitionsHandler):
    """Kerio's administration API, as far as definitions go."""

    def post(self) -> None:
        origin = self.request.headers.get("Origin")
        if origin is not None and urllib.parse.urlsplit(origin).netloc != self.request.host:
            self.set_status(403)
            self.finish({"error": {"code": "cross_origin", "message": "not from this page"}})
            return
        request_id: Any = None
        try:
            if len(self.request.body) > MAX_RPC_BYTES:
                raise RpcError(-32600, "Invalid Request: too large")
            try:
                call = json.loads(self.request.body)
            except ValueError:
                raise RpcError(-32700, "Parse error") from None
            if not isinstance(call, dict) or call.get("jsonrpc") != "2.0":
                raise RpcError(-32600, "Invalid Request")
            request_id = call.get("id")
            method, params = call.get("method"), call.get("params", {})
            if not isinstance(method, str) or not isinstance(params, dict):
                raise RpcError(-32600, "Invalid Request")
            result = self._run(method, params)
        except RpcError as error:
            self.finish(
                {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "error": {"code": error.code, "message": error.message},
                }
            )
            return
        self.finish({"jsonrpc": "2.0", "id": request_id, "result": result})

    def _run(self, method: str, params: dict[str, Any]) -> Any:
        if method == "Session.login":
            return {"token": secrets.token_urlsafe(16)}
        if method == "Session.logout":
            return {}
        if self.definitions is None:
            raise RpcError(-32601, f"Method not found: {method[:80]}")
        return self.definitions.rpc(method, params)


class DefinitionsJson(_DefinitionsHandler):
    """Local and shared definitions, per kind, as JSON."""

    def get(self) -> None:
        self.finish(self._listing())


class DefinitionsPage(_DefinitionsHandler):
    """Local and shared definitions, per kind (shared ones are read-only here)."""

    def get(self) -> None:
        parts = ["<!doctype html><meta charset=utf-8><title>Definitions</title>"]
        parts.append("<h1>Definitions</h1>")
        for kind_name, listing in self._listing().items():
            parts.append(f"<h2>{html.escape(Kind(kind_name).title.capitalize())}s")
            parts.append(f" (shared version {listing['version']})</h2>")
            for label, groups in (
                ("Shared (read-only)", listing["shared"]),
                ("Local", listing["local"]),
            ):
                parts.append(f"<h3>{label}</h3><ul>")
                for group in groups:
                    parts.append(
                        f"<li><b>{html.escape(group['name'])}</b>: "
                        f"{len(group['entries'])} entries</li>"
                    )
                parts.append("</ul>")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish("".join(parts))


def definition_routes(
    args: dict[str, Any],
) -> list[tuple[str, type[RequestHandler], dict[str, Any]]]:
    """The admin UI's routes for definitions."""
    return [
        (r"/admin/api/jsonrpc/?", JsonRpcApi, args),
        (r"/api/definitions", DefinitionsJson, args),
        (r"/definitions", DefinitionsPage, args),
    ]
