"""Domain errors: every error a user can meet, each with an HTTP status and a stable code.

Handlers render any `DomainError` as the project's JSON error shape
(`{"error": {"code": ..., "message": ...}}`); the code never changes once published, the
message is for people.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a user can cause or see; carries an HTTP status and a code."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The request or a value in it is malformed or breaks a rule."""

    status = 400
    code = "invalid_input"


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it exists."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The change collides with existing state, such as a duplicate unique key."""

    status = 409
    code = "conflict"


class Unavailable(DomainError):
    """A dependency the request needs (the store, an actor) cannot answer now."""

    status = 503
    code = "unavailable"


class ConfigError(Exception):
    """The configuration cannot be used; start-up stops with this message."""


class Unauthorized(DomainError):
    """The caller is not logged in, or the credentials or code are wrong."""

    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    status = 403
    code = "forbidden"


class TooManyRequests(DomainError):
    """A throttle refused the request; `retry_after` says how many seconds to wait."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
