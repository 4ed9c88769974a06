"""Logging set-up: structlog for our code, the standard library's loggers routed through it.

JSON lines in production, readable lines in development. Context bound with
`structlog.contextvars` (the request id of a web request) and loggers bound by actors (their
name) appear on every line they produce. Tracebacks are logged without local variables.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import Processor

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def wants_json(log_format: str, stream: TextIO) -> bool:
    """Whether `log_format` ("auto", "json", "console") means JSON on `stream`."""
    if log_format == "auto":
        return not stream.isatty()
    return log_format == "json"


def _console_tracebacks(colors: bool) -> structlog.typing.ExceptionRenderer:
    """Rich's readable tracebacks when rich is installed (without locals), else plain ones."""
    try:
        import rich  # noqa: F401 - only asking whether it is there
    except ImportError:
        return structlog.dev.plain_traceback
    return structlog.dev.RichTracebackFormatter(
        show_locals=False, color_system="truecolor" if colors else None
    )


def configure_logging(log_format: str, level: str, stream: TextIO | None = None) -> None:
    """Send every log line (ours, Tornado's, pykka's) to `stream` in the chosen format.

    Logging is process-wide by nature; only the composition root calls this.
    """
    out = stream if stream is not None else sys.stderr
    as_json = wants_json(log_format, out)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Processor
    # Tracebacks never show local variables: a frame's locals can hold a password being
    # checked or a box administrator's credentials in transit.
    if as_json:
        shared.append(
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        )
        renderer = structlog.processors.JSONRenderer()
    else:
        colors = out.isatty()
        renderer = structlog.dev.ConsoleRenderer(
            colors=colors, exception_formatter=_console_tracebacks(colors)
        )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(_LEVELS.get(level, logging.ERROR))
    # Tornado's access log duplicates the hub's own request line.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
