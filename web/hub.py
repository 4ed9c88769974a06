"""The running hub: opens the store, starts the supervisor and its actors, serves HTTPS.

`Hub.start()` and `Hub.stop()` bring the parts up in order and down in reverse order; the
command line (`web/__main__.py`) and the tests both drive a hub through them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import ipaddress
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import structlog
import tornado.httpserver
import tornado.netutil

from actors.accounts import AccountsActor
from actors.router import Router
from actors.runtime import LoopRuntime
from actors.supervisor import GC_THRESHOLDS, Backoff, HeapFreezer, Scheduler, Supervisor
from mykerio.appliances.admission import HandshakeBudget
from mykerio.bus import LocalBus
from mykerio.clock import Clock, SystemClock
from mykerio.config import Config
from mykerio.datadir import DataDir, prepare_data_dir
from mykerio.errors import ConfigError, DomainError
from mykerio.organizations.events import ApplianceAdded
from mykerio.security.passwords import common_passwords
from mykerio.store import Store, open_store
from web.app import make_app
from web.appliance_links import ApplianceLinks
from web.appliance_streams import ApplianceStreams
from web.live import LiveRegistry
from web.metrics import HubMetrics
from web.tunnel_origin import TunnelOrigin
from web.tunnel_proxy import make_tunnel_app
from web.tunnel_sessions import TunnelSessions
from web.waiting_appliances import WaitingAppliances
from web.webhook_client import TornadoWebhookTransport
from web.wiring import (
    appliance_links,
    backup_vault,
    serve_organizations,
    start_accounts,
    start_backups,
    start_bounces,
    start_mailer,
    start_notifier,
    start_relay,
    start_webhooks,
)

log = structlog.get_logger("web.hub")


def tls_context(data: DataDir) -> ssl.SSLContext | None:
    """A server TLS context for the hub's certificate, or None when TLS is off."""
    if data.tls_cert is None or data.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(data.tls_cert), str(data.tls_key))
    return context


def _bound_port(sockets: list[socket.socket]) -> int:
    inet = [s for s in sockets if s.family == socket.AF_INET] or sockets
    return int(inet[0].getsockname()[1])


def served_url(config: Config, port: int) -> str:
    """The public URL derived from the address actually served (when `hub.public_url` is empty).

    The scheme follows `server.tls`, the port is the one bound; a loopback host is `localhost`
    (the name on the self-signed certificate), an unspecified one (0.0.0.0, ::) this machine's
    name, any other host itself.
    """
    scheme = "https" if config.server.tls else "http"
    host = config.server.host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == "localhost" or (address is not None and address.is_loopback):
        name = "localhost"
    elif not host or (address is not None and address.is_unspecified):
        name = socket.getfqdn()
    elif address is not None and address.version == 6:
        name = f"[{host}]"
    else:
        name = host
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{name}" + ("" if port == default else f":{port}")


class Hub:
    """One hub process's parts, started and stopped in order."""

    def __init__(
        self,
        config: Config,
        clock: Clock | None = None,
        schedule: Scheduler | None = None,
        alert_schedule: Scheduler | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        # The appliance actors' timers (pings, silence); None: the event loop's.
        self.schedule = schedule
        # The notifier's timers (grace, batching); None: the event loop's.
        self.alert_schedule = alert_schedule
        self.metrics = HubMetrics()
        self.port = 0
        self.store: Store | None = None
        self.runtime: LoopRuntime | None = None
        self.supervisor: Supervisor | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._hashing: ThreadPoolExecutor | None = None
        self._webhook_transport: TornadoWebhookTransport | None = None
        self.bus = LocalBus()
        self.live = LiveRegistry(self.clock)
        self.live.subscribe(self.bus)
        self.waiting = WaitingAppliances()
        self.bus.subscribe(ApplianceAdded, self.waiting.appliance_added)
        self.router: Router | None = None
        self.appliance_streams: ApplianceStreams | None = None  # (v2 links' streams, once started)
        # Appliance handshakes in progress, and upgrades waiting for a slot (once started).
        self.handshakes: HandshakeBudget | None = None
        # The relay's inbound SMTP endpoint for bounces ([relay] inbound_smtp), once started.
        self.bounces: asyncio.Server | None = None
        # "Open administration": the tunnel origin's listener and state (when enabled).
        self.tunnel: TunnelOrigin | None = None
        self.tunnel_port = 0
        self._tunnel_server: tornado.httpserver.HTTPServer | None = None

    @property
    def url(self) -> str:
        """Base URL of the listener as seen from this machine."""
        scheme = "https" if self.config.server.tls else "http"
        return f"{scheme}://localhost:{self.port}"

    async def start(self) -> None:
        """Prepare the data directory, open the store, start actors, listen."""
        try:
            sockets = tornado.netutil.bind_sockets(self.config.server.port, self.config.server.host)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {self.config.server.host}:{self.config.server.port}: "
                f"{exc.strerror}"
            ) from None
        self.port = _bound_port(sockets)
        if not self.config.hub.public_url:
            served = served_url(self.config, self.port)
            self.config = dataclasses.replace(
                self.config, hub=dataclasses.replace(self.config.hub, public_url=served)
            )
        try:
            await self._start_on(sockets)
        except BaseException:
            if self._server is None:
                for bound in sockets:
                    bound.close()
            raise

    async def _start_on(self, sockets: list[socket.socket]) -> None:
        config = self.config
        common_passwords()  # the breached-password list is read once, at start
        data = prepare_data_dir(config, self.clock)
        self.store = await open_store(
            config.store.uri, data.path, on_operation=self.metrics.observe_store
        )
        loop = asyncio.get_running_loop()
        self.runtime = LoopRuntime(loop, slice_seconds=config.actors.dispatch_slice_ms / 1000)
        self.supervisor = Supervisor(
            self.runtime,
            backoff=Backoff(
                initial=config.actors.restart_backoff_initial,
                maximum=config.actors.restart_backoff_max,
                reset_after=config.actors.restart_backoff_reset_after,
            ),
            # Actors started later (one per appliance) are frozen after each burst of starts.
            freezer=HeapFreezer(loop.call_later),
        )
        self.metrics.watch_actors(self.runtime, self.supervisor)
        router = self.router = Router(
            self.supervisor,
            ask_timeout=config.actors.ask_timeout,
            accounts_shards=config.actors.accounts_workers,
        )
        router.start_health(
            store=self.store,
            lag_interval=config.metrics.loop_lag_interval,
            on_lag=self.metrics.observe_lag,
        )
        start_mailer(config, data, self.store, self.clock, router, self.bus, self.schedule)
        start_relay(config, data, self.store, self.clock, router, self.bus)
        self.bounces = await start_bounces(config, data, router)
        self._webhook_transport = start_webhooks(
            config, data, self.store, self.clock, router, self.alert_schedule
        )
        start_notifier(config, self.store, self.clock, router, self.bus, self.alert_schedule)
        self._hashing = start_accounts(
            config, data, self.store, self.clock, router, self.bus.publish
        )
        vault = backup_vault(config, data, self.store, self.clock)
        serve_organizations(config, self.store, self.clock, router, self.bus, vault)
        appliances = appliance_links(
            config, data, self.store, self.clock, router, self.waiting, self.schedule
        )
        self.appliance_streams = appliances.streams
        self.handshakes = appliances.handshakes
        tunnel = self._start_tunnel(data, appliances)
        start_backups(config, vault, self.store, self.clock, router, self.bus, appliances.streams)
        app = make_app(
            config,
            self.metrics,
            self.supervisor,
            router,
            self.live,
            appliances,
            dev_outbox=config.hub.dev_mode and not config.mail.smtp_host,
            tunnel=tunnel,
        )
        self._server = tornado.httpserver.HTTPServer(
            app,
            ssl_options=tls_context(data),
            max_body_size=config.server.max_body_bytes,
            xheaders=config.server.xheaders,
            # Tornado's header timeout is its idle timeout: headers must arrive within it.
            idle_connection_timeout=config.server.idle_timeout,
            body_timeout=config.server.body_timeout,
        )
        self._server.add_sockets(sockets)
        self.live.start_checks(loop)
        # Everything allocated so far lives as long as the process; keep the cyclic garbage
        # collector from rescanning it on every full collection (shorter loop pauses), and
        # collect the young generations less often (bench/actors.py, "loop-gc").
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        log.info(
            "hub started",
            url=self.url,
            public_url=config.hub.public_url,
            store=self.store.kind,
            data_dir=str(data.path),
            actors=len(self.supervisor),
        )

    def _start_tunnel(self, data: DataDir, appliances: ApplianceLinks) -> TunnelOrigin | None:
        """The tunnel origin's listener, a second port on the same host ([tunnel])."""
        config = self.config
        if not config.tunnel.enabled:
            return None
        try:
            sockets = tornado.netutil.bind_sockets(config.tunnel.port, config.server.host)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {config.server.host}:{config.tunnel.port} (tunnel): "
                f"{exc.strerror}"
            ) from None
        self.tunnel_port = _bound_port(sockets)
        sessions = TunnelSessions(self.clock, config.tunnel.ticket_seconds)
        sessions.subscribe(self.bus)
        self.tunnel = TunnelOrigin(
            sessions=sessions,
            streams=appliances.streams,
            hub_key_pem=appliances.hub_key_pem,
            clock=self.clock,
            public_url=config.tunnel.public_url or served_url(config, self.tunnel_port),
            dashboard_url=config.hub.public_url,
            max_streams=config.tunnel.max_streams,
            idle_timeout=config.tunnel.idle_timeout,
            check_session=self._check_session,
        )
        self._tunnel_server = tornado.httpserver.HTTPServer(
            make_tunnel_app(self.tunnel),
            ssl_options=tls_context(data),
            max_body_size=config.server.max_body_bytes,
            idle_connection_timeout=config.server.idle_timeout,
            body_timeout=config.server.body_timeout,
        )
        self._tunnel_server.add_sockets(sockets)
        log.info("tunnel origin listening", url=self.tunnel.public_url)
        return self.tunnel

    async def _check_session(self, token: str) -> datetime | None:
        """When a hub session ends unless used (its use through a tunnel counts), or None
        when it is gone."""
        assert self.router is not None
        try:
            current = await self.router.accounts(token).call(AccountsActor.resolve, token)
        except DomainError:
            return None
        return current.expires_at

    async def stop(self, deadline: float | None = None) -> None:
        """Stop accepting, stop actors in reverse start order, close the store — in `deadline`."""
        budget = deadline if deadline is not None else self.config.shutdown.deadline
        end = time.monotonic() + budget
        try:
            if self._server is not None:
                self._server.stop()
            if self.bounces is not None:
                self.bounces.close()  # (bounces not taken are sent again by their servers)
            if self._tunnel_server is not None:
                self._tunnel_server.stop()
            if self.handshakes is not None:
                # Upgrades waiting for a handshake slot are answered 503 now, not in 5 s:
                # appliances keep knocking while the hub stops (and come back after it).
                self.handshakes.close()
            # Upgraded sockets are no longer the HTTP server's connections: close them here.
            self.waiting.close_all()
            self.live.close_all()
            if self.supervisor is not None:
                await self.supervisor.stop_all(max(0.1, end - time.monotonic()))
            if self._server is not None:
                try:
                    async with asyncio.timeout(max(0.1, end - time.monotonic())):
                        await self._server.close_all_connections()
                except TimeoutError:
                    log.warning("connections still open at the shutdown deadline")
            if self._tunnel_server is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.1, end - time.monotonic())):
                        await self._tunnel_server.close_all_connections()
        finally:
            if self._hashing is not None:
                self._hashing.shutdown(wait=False, cancel_futures=True)
            if self._webhook_transport is not None:
                self._webhook_transport.close()
            if self.store is not None:
                await self.store.close()
        log.info("hub stopped", seconds=round(budget - (end - time.monotonic()), 3))
