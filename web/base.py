"""BaseHandler: what every HTTP handler shares — request ids, security headers, JSON errors.

Every response carries the security headers; every error, whatever raised it, is rendered as
`{"error": {"code": ..., "message": ..., "request_id": ...}}` with a stable code; every request
binds its request id into the log context, so every line logged while serving it carries it.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar, TypeVar

import pydantic
import structlog
import tornado.web

from mykerio.errors import DomainError, Forbidden, InvalidInput, TooManyRequests
from web.metrics import HubMetrics
from web.models.errors import field_error
from web.openapi import Operation

M = TypeVar("M", bound=pydantic.BaseModel)
log = structlog.get_logger("web")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
_SURROGATE = re.compile("[\ud800-\udfff]")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Stable codes for errors that come from the transport rather than the domain.
_HTTP_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def apply_security_headers(handler: tornado.web.RequestHandler) -> None:
    """Set the headers every response carries (also static files)."""
    for name, value in SECURITY_HEADERS.items():
        handler.set_header(name, value)


class CsrfFailed(Forbidden):
    """A state-changing request without the page's CSRF token."""

    code = "csrf_failed"


class BaseHandler(tornado.web.RequestHandler):
    """Parent of every handler; `route` and `metrics` are injected through `initialize`."""

    route: str
    metrics: HubMetrics
    # Filled in by subclasses: what each method does, for the OpenAPI document.
    openapi: ClassVar[Mapping[str, Operation]] = {}

    def initialize(self, route: str, metrics: HubMetrics) -> None:
        """Store what the application injected."""
        self.route = route
        self.metrics = metrics
        offered = self.request.headers.get("X-Request-Id", "")
        self.request_id = offered if _REQUEST_ID.match(offered) else secrets.token_hex(8)
        self._started = time.perf_counter()

    def set_default_headers(self) -> None:
        """Security headers (and the request id, once known) on every response, errors too."""
        apply_security_headers(self)
        request_id = getattr(self, "request_id", "")
        if request_id:
            self.set_header("X-Request-Id", request_id)

    def prepare(self) -> Any:
        """Bind the request id (the caller's, if well-formed) for every log line of the request."""
        structlog.contextvars.bind_contextvars(request_id=self.request_id)

    def check_xsrf_cookie(self) -> None:
        """CSRF check on state-changing requests; a method the route lacks answers 405 instead."""
        if not _implements(self, self.request.method or "GET"):
            return
        try:
            super().check_xsrf_cookie()
        except tornado.web.HTTPError:
            raise CsrfFailed("This page is out of date. Reload it and try again.") from None

    def body(self, model: type[M]) -> M:
        """The request body as `model`: 415 for another content type, else a clear 400.

        A body that is not JSON, not an object, or holds a lone surrogate ("\\ud800", which no
        UTF-8 text can carry and which would crash whatever encodes it later) is refused here,
        the one place request bodies are parsed. Then the model checks its shape: a field it
        does not name is refused (so a misspelt or unsupported option is never silently
        ignored), as is a missing field or a value of the wrong JSON type; the 400 names the
        first such field (`field`, and `rule`), unknown fields first.
        """
        try:
            return model.model_validate(self._json_document())
        except pydantic.ValidationError as invalid:
            raise field_error(invalid) from None

    def _json_document(self) -> dict[str, Any]:
        """The body as a JSON object (an empty body is `{}`), checked as `body` says."""
        body = self.request.body
        if body:
            media_type = self.request.headers.get("Content-Type", "").partition(";")[0]
            if media_type.strip().lower() != "application/json":
                raise tornado.web.HTTPError(415, "The request body must be application/json.")
        try:
            document = json.loads(body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InvalidInput("The request body must be JSON.") from None
        if not isinstance(document, dict):
            raise InvalidInput("The request body must be a JSON object.")
        if _has_lone_surrogate(document):
            raise InvalidInput("The request body holds an invalid character (a lone surrogate).")
        return document

    def write_encoded(self, document: bytes, status: int = 200) -> None:
        """Answer with a JSON document encoded already."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(document)

    def accepts_gzip(self) -> bool:
        """Whether the client takes a gzip-compressed answer (`Accept-Encoding`, q-values read:
        `gzip;q=0` is a refusal)."""
        for part in self.request.headers.get("Accept-Encoding", "").split(","):
            coding, _, params = part.strip().partition(";")
            if coding.strip().lower() not in ("gzip", "*"):
                continue
            quality = params.strip().lower()
            if quality.startswith("q="):
                try:
                    return float(quality[2:]) > 0
                except ValueError:
                    return False
            return True
        return False

    def write_model(self, answer: pydantic.BaseModel, status: int = 200) -> None:
        """Answer with a response model as JSON."""
        self.write_json(answer.model_dump(mode="json"), status)

    def on_finish(self) -> None:
        """Count the request, log one access line and drop the request's log context."""
        status = self.get_status()
        elapsed = time.perf_counter() - self._started
        self.metrics.http_requests.labels(self.route, self.request.method, str(status)).inc()
        self.metrics.http_duration.labels(self.route).observe(elapsed)
        log.info(
            "request",
            method=self.request.method,
            path=self.request.path,
            route=self.route,
            status=status,
            ms=round(elapsed * 1000, 2),
            request_id=self.request_id,
        )
        structlog.contextvars.unbind_contextvars("request_id")

    def write_json(self, document: Any, status: int = 200) -> None:
        """Answer with a JSON document."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(document, separators=(",", ":")))

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Domain errors choose their own status."""
        exc_info = kwargs.get("exc_info")
        if exc_info is not None and isinstance(exc_info[1], DomainError):
            status_code = exc_info[1].status
        super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Render every error in the one JSON shape."""
        error = kwargs.get("exc_info", (None, None, None))[1]
        extra: dict[str, Any] = {}
        if isinstance(error, DomainError):
            code, message = error.code, error.message
            for name in ("field", "rule"):
                if getattr(error, name, ""):
                    extra[name] = getattr(error, name)
            if isinstance(error, TooManyRequests):
                self.set_header("Retry-After", str(error.retry_after))
                extra["retry_after"] = error.retry_after
        else:
            code = _HTTP_CODES.get(status_code, f"http_{status_code}")
            if isinstance(error, tornado.web.HTTPError) and error.log_message:
                message = error.log_message % error.args if error.args else error.log_message
            else:
                message = _phrase(status_code)
            if status_code >= 500:
                message = _phrase(status_code)  # never leak internals to the caller
        self.set_header("Content-Type", "application/json; charset=utf-8")
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        self.finish(
            json.dumps(
                {
                    "error": {
                        "code": code,
                        "message": message,
                        "request_id": self.request_id,
                        **extra,
                    }
                }
            )
        )

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Domain errors are expected answers; anything else is logged with its traceback."""
        if isinstance(value, DomainError | tornado.web.HTTPError):
            log.info("request refused", error=type(value).__name__, detail=str(value))
            return
        log.error("unhandled error", exc_info=(typ, value, tb))

    def allowed_methods(self) -> list[str]:
        """The HTTP methods this handler implements."""
        return [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if _implements(self, m)]


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any string in a parsed JSON document (keys too) holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _implements(handler: tornado.web.RequestHandler, method: str) -> bool:
    own = getattr(type(handler), method.lower(), None)
    return own is not None and own is not getattr(tornado.web.RequestHandler, method.lower())


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class NotFoundHandler(BaseHandler):
    """Answers every path no route matches with the JSON 404."""

    def prepare(self) -> None:
        """Refuse whatever the method."""
        super().prepare()
        raise tornado.web.HTTPError(404, "no such page: %s", self.request.path)


@tornado.web.stream_request_body
class PayloadTooLargeHandler(BaseHandler):
    """Answers a request whose Content-Length exceeds `[server] max_body_bytes` with the JSON 413.

    The application routes such a request here as soon as its headers arrive (see
    `web.app.HubApplication`), so the answer is written before Tornado refuses to read the body
    and closes the connection (which on its own answers a bare 400).
    """

    def check_xsrf_cookie(self) -> None:
        """The size is refused first, whatever the request."""

    def prepare(self) -> None:
        """Refuse whatever the method and path."""
        super().prepare()
        raise tornado.web.HTTPError(413, "The request body is too large.")
