"""Prometheus metrics (8.16 monitoring): counters in-process, and queue and
population gauges read from the database at scrape time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

OPERATIONS = Counter(
    "iam_operations_total",
    "Operations finished by workers",
    ["system", "kind", "outcome"],
)
OPERATION_SECONDS = Histogram(
    "iam_operation_seconds",
    "Time to apply and verify one operation",
    ["system", "kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HR_EVENTS = Counter("iam_hr_events_total", "HR events received", ["type", "status"])


def operation_finished(system: str, kind: str, outcome: str, started: float) -> None:
    OPERATIONS.labels(system, str(kind), outcome).inc()
    OPERATION_SECONDS.labels(system, str(kind)).observe(time.perf_counter() - started)


class StoreCollector(Collector):
    """Gauges computed from our tables when Prometheus scrapes."""

    def __init__(self, read: Callable[[], dict[str, dict[str, int]]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        data = self._read()
        ops = GaugeMetricFamily(
            "iam_operations", "Operations by status", labels=["status"]
        )
        for status, count in sorted(data.get("operations", {}).items()):
            ops.add_metric([status], count)
        yield ops
        people = GaugeMetricFamily("iam_persons", "People by status", labels=["status"])
        for status, count in sorted(data.get("persons", {}).items()):
            people.add_metric([status], count)
        yield people


def registry_with(read: Callable[[], dict[str, dict[str, int]]]) -> CollectorRegistry:
    """A registry with the process counters and the store gauges."""
    registry = CollectorRegistry()
    for collector in (OPERATIONS, OPERATION_SECONDS, HR_EVENTS):
        registry.register(collector)
    registry.register(StoreCollector(read))
    return registry
