"""An API client for tests that behaves like a browser: a cookie jar and the CSRF header."""

from __future__ import annotations

import json
import ssl
from http.cookies import SimpleCookie
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse


class ApiResult:
    """Status, JSON body and headers of one answer."""

    def __init__(self, response: HTTPResponse) -> None:
        self.status = response.code
        self.headers = response.headers
        self.raw = response.body or b""
        try:
            self.json: Any = json.loads(self.raw) if self.raw else {}
        except ValueError:
            self.json = {}

    @property
    def error_code(self) -> str:
        """The stable error code, or an empty string."""
        error = self.json.get("error", {}) if isinstance(self.json, dict) else {}
        return str(error.get("code", ""))

    def __repr__(self) -> str:
        return f"<ApiResult {self.status} {self.raw[:300]!r}>"


class ApiSession:
    """One browser-like client of the hub."""

    def __init__(self, base_url: str, cafile: str, user_agent: str = "pytest-client") -> None:
        self.base_url = base_url
        self.ssl = ssl.create_default_context(cafile=cafile)
        self.http = AsyncHTTPClient()
        self.cookies: dict[str, str] = {}
        self.user_agent = user_agent
        self.csrf = ""
        self.set_cookie_headers: list[str] = []

    async def request(
        self, method: str, path: str, body: Any = None, *, csrf: bool = True
    ) -> ApiResult:
        """Send a request with the jar's cookies; JSON body for non-GET methods."""
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if method != "GET" and csrf:
            if not self.csrf:
                await self.refresh_csrf()
            headers["X-XSRFToken"] = self.csrf
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            headers["Content-Type"] = "application/json"
            data = json.dumps(body if body is not None else {}).encode()
        request = HTTPRequest(
            self.base_url + path,
            method=method,
            headers=headers,
            body=data,
            ssl_options=self.ssl,
            follow_redirects=False,
            allow_nonstandard_methods=True,
        )
        response = await self.http.fetch(request, raise_error=False)
        self._keep_cookies(response)
        return ApiResult(response)

    async def refresh_csrf(self) -> None:
        """Fetch a CSRF token (and its cookie)."""
        result = await self.request("GET", "/api/v1/csrf")
        self.csrf = result.json["csrf_token"]

    def _keep_cookies(self, response: HTTPResponse) -> None:
        for header in response.headers.get_list("Set-Cookie"):
            self.set_cookie_headers.append(header)
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                expired = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                if expired or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    async def get(self, path: str) -> ApiResult:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any = None) -> ApiResult:
        return await self.request("POST", path, body)
