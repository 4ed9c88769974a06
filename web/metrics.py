"""The hub's Prometheus metrics, in one registry made by the composition root (no globals)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from actors.runtime import LoopRuntime
from actors.supervisor import Supervisor

_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class _ActorCollector(Collector):
    """Reads actor counts and mailbox depths from the runtime at scrape time."""

    def __init__(self, runtime: LoopRuntime, supervisor: Supervisor) -> None:
        self._runtime = runtime
        self._supervisor = supervisor

    def collect(self) -> Iterator[Metric]:
        actors = GaugeMetricFamily("mykerio_actors", "Live actors by kind.", labels=["kind"])
        for kind, count in sorted(self._runtime.counts_by_kind().items()):
            actors.add_metric([kind], count)
        yield actors
        depth = GaugeMetricFamily(
            "mykerio_actor_mailbox_messages",
            "Messages waiting in actor inboxes, summed by actor kind.",
            labels=["kind"],
        )
        for kind, count in sorted(self._runtime.mailbox_depth_by_kind().items()):
            depth.add_metric([kind], count)
        yield depth
        restarts = CounterMetricFamily(
            "mykerio_actor_restarts", "Crashed actors restarted by the supervisor."
        )
        restarts.add_metric([], self._supervisor.restarts)
        yield restarts


class HubMetrics:
    """Every metric the hub exports, and the registry `/metrics` renders."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.loop_lag = Histogram(
            "mykerio_event_loop_lag_seconds",
            "How late the event loop ran a timer: time it spent busy with other work.",
            buckets=_LAG_BUCKETS,
            registry=self.registry,
        )
        self.http_requests = Counter(
            "mykerio_http_requests",
            "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "mykerio_http_request_duration_seconds",
            "Time to answer an HTTP request, by route.",
            ["route"],
            registry=self.registry,
        )
        self.store_duration = Histogram(
            "mykerio_store_operation_duration_seconds",
            "Time a store operation took, by operation.",
            ["operation"],
            buckets=_STORE_BUCKETS,
            registry=self.registry,
        )

    def watch_actors(self, runtime: LoopRuntime, supervisor: Supervisor) -> None:
        """Export actor counts, mailbox depth and restarts."""
        self.registry.register(_ActorCollector(runtime, supervisor))

    def observe_store(self, operation: str, seconds: float) -> None:
        """Record one store operation (the store's `on_operation` observer)."""
        self.store_duration.labels(operation).observe(seconds)

    def observe_lag(self, seconds: float) -> None:
        """Record one loop-lag sample."""
        self.loop_lag.observe(seconds)
