"""Log lines never carry a traceback's local variables (they can hold passwords)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog

from mykerio.logs import configure_logging

SECRET = "Brno-box-2026!"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers, root.level = handlers, level
        structlog.reset_defaults()


def fail_with_a_secret_in_scope() -> None:
    password = SECRET
    raise RuntimeError(f"the box did not answer ({len(password)} characters sent)")


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_a_logged_exception_shows_its_traceback_but_no_locals(
    log_format: str, restore_logging: None
) -> None:
    stream = io.StringIO()
    configure_logging(log_format, "info", stream=stream)
    log = structlog.get_logger("test")
    try:
        fail_with_a_secret_in_scope()
    except RuntimeError:
        log.exception("request failed")
    text = stream.getvalue()
    assert "fail_with_a_secret_in_scope" in text  # the traceback is there
    assert "14 characters sent" in text
    assert SECRET not in text
