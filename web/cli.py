"""The `mykerio` command: `mykerio serve` runs the hub, `mykerio simulate` simulated appliances."""

from __future__ import annotations

import argparse
import sys

import mykerio
from mykerio.agent.cli import add_simulate_arguments
from mykerio.agent.cli import run as run_simulate
from web.__main__ import add_serve_arguments, run


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(
        prog="mykerio", description="MyKerio Hub: manage Kerio appliances of many organizations."
    )
    parser.add_argument("--version", action="version", version=f"mykerio {mykerio.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve", help="run the hub (HTTPS dashboard, API, appliance sockets)"
    )
    add_serve_arguments(serve)
    simulate = commands.add_parser(
        "simulate", help="run simulated Kerio appliances that link to a hub"
    )
    add_simulate_arguments(simulate)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return run(args)
    if args.command == "simulate":
        return run_simulate(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
