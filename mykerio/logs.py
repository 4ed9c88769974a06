"""Logging set-up: structlog for our code, the standard library's loggers routed through it.

JSON lines in production, readable lines in development. Context bound with
`structlog.contextvars` (the request id of a web request) and loggers bound by actors (their
name) appear on every line they produce.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.typing import Processor

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def wants_json(log_format: str, stream: TextIO) -> bool:
    """Whether `log_format` ("auto", "json", "console") means JSON on `stream`."""
    if log_format == "auto":
        return not stream.isatty()
    return log_format == "json"


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
    if as_json:
        shared.append(structlog.processors.dict_tracebacks)
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
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
