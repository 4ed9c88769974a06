"""`mykerio simulate` and `python -m mykerio.agent`: run simulated appliances against a hub.

`add_simulate_arguments` declares the flags (the `mykerio` command in `web/cli.py` adds them to
its `simulate` subcommand), `run` turns parsed flags into a `FleetOptions` and runs the fleet
until SIGINT or SIGTERM, `main` is the stand-alone entry point.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import signal
import socket
import sys
from pathlib import Path

from mykerio.agent.backups import BackupOptions
from mykerio.agent.box import BoxAdmin
from mykerio.agent.endpoint import HubEndpoint, Timings
from mykerio.agent.fleet import CONCURRENT_HANDSHAKES, FleetOptions, run_fleet
from mykerio.agent.profile import Profile
from mykerio.logs import configure_logging
from mykerio.protocol.identity import public_key_of
from mykerio.protocol.messages import NAME_CHARS, PRODUCTS
from mykerio.protocol.versions import PROTOCOL_VERSIONS

DEFAULT_VERSION = "9.4.0"


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `simulate`."""
    parser.add_argument("--product", choices=PRODUCTS, default="control", help="default: control")
    parser.add_argument(
        "--version",
        dest="product_version",
        default=DEFAULT_VERSION,
        metavar="VERSION",
        help=f"product version (default: {DEFAULT_VERSION})",
    )
    parser.add_argument("--hub", required=True, metavar="URL", help="e.g. https://localhost:8443")
    parser.add_argument(
        "--state", required=True, type=Path, metavar="DIR", help="the appliance's state directory"
    )
    parser.add_argument("--serial", help="a Kerio Control hardware box's serial, e.g. SRLNMR123456")
    parser.add_argument("--name", help="host name offered as the default name (default: this host)")
    parser.add_argument(
        "--admin",
        metavar="USER:PASSWORD",
        help="with --serial: the box already has this local administrator (default: a factory"
        " box without one)",
    )
    parser.add_argument(
        "--factory-key",
        type=Path,
        metavar="FILE",
        help="with --serial: the box maker's Ed25519 private key (PEM); the box then carries the"
        " maker's signature over its serial and key (see [hub] factory_keys)",
    )
    parser.add_argument(
        "--setup-restart",
        type=float,
        default=Timings().setup_restart,
        metavar="SECONDS",
        help="with --serial: how long the box takes to restart after MyKerio sets it up"
        f" (default: {Timings().setup_restart:g})",
    )
    parser.add_argument(
        "--protocol",
        type=int,
        choices=PROTOCOL_VERSIONS,
        default=max(PROTOCOL_VERSIONS),
        help="the newest protocol version the appliance speaks (default: %(default)s;"
        " 1 is an appliance from before streams)",
    )
    parser.add_argument(
        "--multi-server", action="store_true", help="a Kerio Connect Multi-Server (the hub refuses)"
    )
    parser.add_argument(
        "--count", type=int, default=1, metavar="N", help="run N appliances (state in DIR/0..N-1)"
    )
    parser.add_argument(
        "--handshakes",
        type=int,
        default=CONCURRENT_HANDSHAKES,
        metavar="N",
        help=f"handshakes in flight at once in this process, 0 = no limit, as for real"
        f" appliances, each its own machine (default: {CONCURRENT_HANDSHAKES})",
    )
    parser.add_argument(
        "--ui-port",
        type=int,
        metavar="N",
        help="admin UI port, 0 = any (default: 0 for one appliance, no UI with --count);"
        " with --count, appliance i listens on N+i",
    )
    parser.add_argument("--ui-address", default="127.0.0.1", help="admin UI address")
    parser.add_argument(
        "--definitions",
        type=Path,
        metavar="FILE",
        help="a Kerio Control's local definitions at start: JSON {kind: [groups]}",
    )
    parser.add_argument(
        "--refuse-definitions",
        action="store_true",
        help="refuse every shared-definitions push from the hub (to test failures)",
    )
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument("--cafile", metavar="FILE", help="trust the hub certificate(s) in FILE")
    trust.add_argument(
        "--insecure", action="store_true", help="do not check the hub's certificate (dev only)"
    )
    backups = parser.add_argument_group("configuration backups (Kerio Control and Operator)")
    backups.add_argument(
        "--no-backups", action="store_true", help='untick "Save configuration to MyKerio"'
    )
    backups.add_argument(
        "--backup-every",
        type=float,
        default=24 * 3600.0,
        metavar="SECONDS",
        help="upload a backup this often while linked (default: a day; 0: only when asked)",
    )
    backups.add_argument(
        "--backup-size",
        type=int,
        default=0,
        metavar="BYTES",
        help="pad each backup to this size, e.g. 5000000 (default: just the configuration)",
    )
    backups.add_argument(
        "--cut-backup-upload",
        action="store_true",
        help="close the connection in the middle of the first upload (it is sent again)",
    )
    parser.add_argument(
        "--no-remote-admin",
        action="store_true",
        help='untick "Allow administration from MyKerio": the hub cannot open this appliance\'s'
        " administration (hello declares it)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not print status changes")
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning"), default="warning", help="log level"
    )


def options_from(args: argparse.Namespace) -> FleetOptions:
    """The fleet the flags describe; `ValueError` with a message for people if they clash."""
    if args.count < 1:
        raise ValueError("--count must be at least 1")
    if args.handshakes < 0:
        raise ValueError("--handshakes must not be negative")
    if args.serial is not None and args.count > 1:
        raise ValueError("--serial names one hardware box; use it without --count")
    ui_port = args.ui_port if args.ui_port is not None or args.count > 1 else 0
    admin = None
    if args.admin is not None:
        if args.serial is None:
            raise ValueError("--admin is the local administrator of a box given by --serial")
        user, colon, password = args.admin.partition(":")
        if not colon or not user or not password:
            raise ValueError("--admin takes USER:PASSWORD")
        admin = BoxAdmin.create(user, password)
    if not 0 <= args.setup_restart <= 600:
        raise ValueError("--setup-restart is 0 to 600 seconds")
    factory_key_pem = None
    if args.factory_key is not None:
        if args.serial is None:
            raise ValueError("--factory-key certifies a box given by --serial")
        factory_key_pem = args.factory_key.read_bytes()
        try:
            public_key_of(factory_key_pem)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"--factory-key: not an Ed25519 private key in PEM ({error})"
            ) from None
    if args.backup_every < 0 or not 0 <= args.backup_size <= 512 * 1024 * 1024:
        raise ValueError("--backup-every must not be negative, --backup-size 0 to 512 MiB")
    if ui_port is not None and not 0 <= ui_port <= 65535 - (args.count - 1):
        raise ValueError("--ui-port must leave room for one port per appliance")
    profile = Profile(
        product=args.product,
        version=args.product_version,
        host_name=(args.name or socket.gethostname() or "kerio")[:NAME_CHARS],
        serial=args.serial,
        multi_server=args.multi_server,
        protocol=args.protocol,
        remote_admin=not args.no_remote_admin,
    )
    endpoint = HubEndpoint.of(args.hub, cafile=args.cafile, insecure=args.insecure)
    return FleetOptions(
        profile=profile,
        endpoint=endpoint,
        state_dir=args.state,
        count=args.count,
        handshakes=args.handshakes,
        ui_port=ui_port,
        ui_address=args.ui_address,
        admin=admin,
        factory_key_pem=factory_key_pem,
        timings=Timings(setup_restart=args.setup_restart),
        definitions_file=args.definitions,
        refuse_definitions=args.refuse_definitions,
        backups=BackupOptions(
            enabled=not args.no_backups,
            every=args.backup_every,
            size=args.backup_size,
            cut_first_upload=args.cut_backup_upload,
        ),
    )


async def simulate(options: FleetOptions, *, quiet: bool = False) -> int:
    """Run the fleet until SIGINT or SIGTERM; the exit status."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await run_fleet(options, stop, None if quiet else sys.stdout)
    return 0


def run(args: argparse.Namespace) -> int:
    """Run `simulate` with parsed flags; bad flags or an unusable state exit 2 with a message."""
    try:
        options = options_from(args)
    except (ValueError, OSError) as error:
        sys.stderr.write(f"mykerio simulate: {error}\n")
        return 2
    configure_logging("auto", args.log_level)
    _allow_many_sockets(options.count)
    try:
        return asyncio.run(simulate(options, quiet=args.quiet))
    except (ValueError, OSError) as error:  # a broken state directory, a UI port in use
        sys.stderr.write(f"mykerio simulate: {error}\n")
        return 2


def main(argv: list[str] | None = None) -> int:
    """`python -m mykerio.agent`: the same flags as `mykerio simulate`."""
    parser = argparse.ArgumentParser(
        prog="python -m mykerio.agent",
        description="Simulated Kerio appliances that link to a MyKerio hub.",
    )
    add_simulate_arguments(parser)
    return run(parser.parse_args(argv))


def _allow_many_sockets(count: int) -> None:
    """Raise the open-file soft limit to the hard limit when many appliances need sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if count * 2 + 64 > soft and soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
