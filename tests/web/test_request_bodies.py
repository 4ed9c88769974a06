"""Tests of how the hub reads request bodies: JSON only, within the size limit, valid text."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

from tornado.httpclient import HTTPRequest

from tests.api_client import ApiSession
from web.hub import Hub


async def _raw_post(api: ApiSession, path: str, body: bytes, content_type: str) -> Any:
    await api.refresh_csrf()
    headers = {
        "Content-Type": content_type,
        "X-XSRFToken": api.csrf,
        "Cookie": "; ".join(f"{k}={v}" for k, v in api.cookies.items()),
    }
    request = HTTPRequest(
        api.base_url + path, method="POST", headers=headers, body=body, ssl_options=api.ssl
    )
    return await api.http.fetch(request, raise_error=False)


async def test_text_plain_body_answers_415_in_the_json_shape(api: ApiSession) -> None:
    """A JSON-looking body sent as text/plain is refused with 415, not taken as JSON."""
    body = json.dumps({"email": "ana@example.com", "password": "x"}).encode()
    response = await _raw_post(api, "/api/v1/sessions", body, "text/plain")
    assert response.code == 415
    error = json.loads(response.body)["error"]
    assert error["code"] == "unsupported_media_type"
    assert error["request_id"]


async def test_lone_surrogate_in_any_string_answers_400(api: ApiSession) -> None:
    """A lone surrogate in a value or a key of a JSON body answers 400 (JSON shape), not 500."""
    for body in (
        {"email": "ana@example.com", "password": "\ud800"},
        {"full_name": "Ana", "email": "a@example.com", "password": "Good-Pass-9x", "\udfff": 1},
        {"email": ["\ud800"], "password": "x"},
    ):
        path = "/api/v1/registrations" if "full_name" in body else "/api/v1/sessions"
        result = await api.post(path, body)
        assert result.status == 400, result
        assert result.json["error"]["code"] == "invalid_input", result


async def test_eleven_mib_body_answers_413_in_the_json_shape(hub: Hub) -> None:
    """A request announcing an 11 MiB body gets the JSON 413 before the hub reads the body."""
    cafile = str(hub.config.data_dir / "tls" / "cert.pem")
    context = ssl.create_default_context(cafile=cafile)
    reader, writer = await asyncio.open_connection(
        "localhost", hub.port, ssl=context, server_hostname="localhost"
    )
    size = 11 * 1024 * 1024
    writer.write(
        b"POST /api/v1/sessions HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\n" + f"Content-Length: {size}\r\n\r\n".encode()
    )
    writer.write(b"{" + b" " * 65536)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), head
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line)
    body = await reader.readexactly(int(headers["Content-Length"]))
    error = json.loads(body)["error"]
    assert error["code"] == "payload_too_large"
    assert error["request_id"]
    writer.close()


async def test_an_unknown_field_in_a_write_body_is_refused_by_name(api: ApiSession) -> None:
    """A write body with a field the handler does not read answers 400 naming that field."""
    result = await api.post(
        "/api/v1/registrations",
        {
            "full_name": "Ana Novak",
            "email": "ana@acme.example",
            "password": "Tulip-Harbour-42",
            "is_admin": True,
        },
    )
    assert result.status == 400, result
    assert result.json["error"]["field"] == "is_admin"
    assert "is_admin" in result.json["error"]["message"]
    login = await api.post("/api/v1/sessions", {"email": "a@b.example", "pasword": "x"})
    assert login.status == 400
    assert login.json["error"]["field"] == "pasword"
