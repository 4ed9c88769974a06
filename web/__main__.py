"""The composition root: `python -m web` / `mykerio serve`.

Loads the configuration, sets up logging, starts the hub and serves until SIGTERM or SIGINT,
then shuts down in reverse order within `[shutdown] deadline` and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import structlog

from mykerio.config import Config, load_config
from mykerio.errors import ConfigError
from mykerio.logs import configure_logging
from web.hub import Hub


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `serve`."""
    parser.add_argument("--config", type=Path, help="TOML file (default: $MYKERIO_CONFIG)")
    parser.add_argument("--host", help="address to listen on ([server] host)")
    parser.add_argument("--port", type=int, help="port to listen on ([server] port)")
    parser.add_argument("--data-dir", help="data directory ([hub] data_dir)")
    parser.add_argument("--dev", action="store_true", help="development mode ([hub] dev_mode)")


def config_from(args: argparse.Namespace) -> Config:
    """Build the configuration from flags, environment and file."""
    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["server.host"] = args.host
    if args.port is not None:
        overrides["server.port"] = args.port
    if args.data_dir is not None:
        overrides["hub.data_dir"] = args.data_dir
    if args.dev:
        overrides["hub.dev_mode"] = True
    path = args.config or (
        Path(os.environ["MYKERIO_CONFIG"]) if "MYKERIO_CONFIG" in os.environ else None
    )
    return load_config(path, os.environ, overrides)


async def serve(config: Config) -> int:
    """Run the hub until a signal; return the exit status."""
    log = structlog.get_logger("web")
    hub = Hub(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await hub.start()
        await stop.wait()
        log.info("signal received; shutting down", deadline_seconds=config.shutdown.deadline)
    finally:
        await hub.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    """Load the configuration and serve; configuration errors exit 2 with their message."""
    try:
        config = config_from(args)
    except ConfigError as exc:
        print(f"mykerio: configuration error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    log_format = (
        "console" if config.hub.dev_mode and config.log.format == "auto" else config.log.format
    )
    configure_logging(log_format, config.log.level)
    try:
        return asyncio.run(serve(config))
    except ConfigError as exc:
        structlog.get_logger("web").error("cannot start", error=str(exc))
        return 2


def main(argv: list[str] | None = None) -> int:
    """`python -m web [flags]`: serve."""
    parser = argparse.ArgumentParser(prog="python -m web", description="Run the MyKerio hub.")
    add_serve_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
