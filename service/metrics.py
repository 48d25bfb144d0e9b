"""Prometheus metrics, one registry per process (tests build many apps side by side)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]
log = logging.getLogger(__name__)
# Capped provider → (cap, jobs holding a slot, jobs waiting for one).
SlotCounts = Mapping[str, tuple[int, int, int]]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhooks = Counter(
            "vidgate_upstream_webhooks",
            "Upstream webhooks received, by provider and outcome "
            "(accepted, duplicate, rejected, unknown, early, deferred, unverified)",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.polls = Counter(
            "vidgate_upstream_polls",
            "Upstream status calls made by the poller, by provider and outcome",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.status_calls = Histogram(
            "vidgate_upstream_status_calls_per_job",
            "Status calls the poller made for one job, counted when the job ends",
            ["provider"],
            buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89),
            registry=self.registry,
        )
        self.completion_lag = Histogram(
            "vidgate_completion_lag_seconds",
            "From the upstream finishing (as far as we can tell) to our Completed event",
            ["provider", "source"],
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
            registry=self.registry,
        )

        self.reconciliations = Counter(
            "vidgate_dispatch_reconciliations",
            "Submits whose outcome was unknown (a crash or a lost answer before Dispatched), "
            "by provider and how they were settled: found upstream, absent upstream, "
            "deduped by the upstream, or resubmitted at the risk of a second render (unknown)",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.slots = _ProviderSlots()
        self.registry.register(self.slots)
        self.backlog = _Backlog()
        self.registry.register(self.backlog)

    def count_jobs_with(self, counts: Callable[[], dict[tuple[str, str], int]]) -> None:
        """Expose `vidgate_jobs{provider, status}` from the jobs view at each scrape."""
        self.registry.register(_JobsByState(counts))

    def count_slots_with(self, counts: Callable[[], SlotCounts]) -> None:
        """Expose each capped provider's cap, in-flight and queued jobs (the dispatcher's
        count; empty in a process that does not lead) at each scrape."""
        self.slots.counts = counts

    def count_backlog_with(self, backlog: Callable[[], Mapping[str, int]]) -> None:
        """Expose how many events each worker loop has still to look at (the workers'
        `backlog`; none in a web-only process) at each scrape."""
        self.backlog.counts = backlog

    def webhook(self, provider: str, outcome: str) -> None:
        self.webhooks.labels(provider, outcome).inc()

    def poll(self, provider: str, outcome: str) -> None:
        self.polls.labels(provider, outcome).inc()

    def reconciliation(self, provider: str, outcome: str) -> None:
        self.reconciliations.labels(provider, outcome).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _JobsByState(Collector):
    def __init__(self, counts: Callable[[], dict[tuple[str, str], int]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        try:
            counts = self.counts()
        except Exception as error:  # the store is down: the other metrics still matter
            log.warning("cannot count jobs for /metrics: %r", error)
            return
        family = GaugeMetricFamily(
            "vidgate_jobs",
            "Jobs by provider and status (the jobs view)",
            labels=["provider", "status"],
        )
        for (provider, status), n in sorted(counts.items()):
            family.add_metric([provider, status], n)
        yield family


class _ProviderSlots(Collector):
    def __init__(self) -> None:
        self.counts: Callable[[], SlotCounts] = dict

    def collect(self) -> Iterator[Metric]:
        families = (
            GaugeMetricFamily(
                "vidgate_provider_concurrency_cap",
                "Most unfinished dispatched jobs a provider may have "
                "(VIDGATE_PROVIDER_CONCURRENCY)",
                labels=["provider"],
            ),
            GaugeMetricFamily(
                "vidgate_provider_inflight",
                "Jobs holding a dispatch slot of a capped provider (intended or dispatched, "
                "unfinished), as counted by the dispatcher",
                labels=["provider"],
            ),
            GaugeMetricFamily(
                "vidgate_provider_queued",
                "Jobs of a capped provider waiting (queued) for a dispatch slot",
                labels=["provider"],
            ),
        )
        for provider, numbers in sorted(self.counts().items()):
            for family, n in zip(families, numbers, strict=True):
                family.add_metric([provider], n)
        yield from families


class _Backlog(Collector):
    def __init__(self) -> None:
        self.counts: Callable[[], Mapping[str, int]] | None = None

    def collect(self) -> Iterator[Metric]:
        if self.counts is None:
            return
        try:
            counts = self.counts()
        except Exception as error:  # the store is down: the other metrics still matter
            log.warning("cannot measure the backlog for /metrics: %r", error)
            return
        family = GaugeMetricFamily(
            "vidgate_worker_backlog_events",
            "Events recorded that a worker loop has not looked at yet (a burst drains here)",
            labels=["loop"],
        )
        for loop, events in sorted(counts.items()):
            family.add_metric([loop], events)
        yield family
