"""Count what the service does, for Prometheus: aggregate numbers only, never names or refs."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from bot.sansio.dora import DoraMetrics

# DORA figures are computed at scrape time from the database, at most this often per process.
DORA_CACHE_SECONDS = 30.0


class Metrics:
    """One registry per app, so tests and several apps in one process do not share counters."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.deliveries = Counter("shipbot_deliveries", "Deliveries received, by source, event and outcome",
                                  ["source", "event", "outcome"], registry=r)
        self.jobs_finished = Counter("shipbot_jobs_finished", "Jobs finished, by outcome", ["outcome"], registry=r)
        self.job_retries = Counter("shipbot_job_retries", "Job attempts that failed and were scheduled again",
                                   registry=r)
        self.handler_errors = Counter("shipbot_handler_errors", "Handler runs that raised, by handler",
                                      ["handler"], registry=r)
        self.job_latency = Histogram("shipbot_job_latency_seconds", "From acceptance to the job being done",
                                     buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
                                     registry=r)
        self.queue_depth = Gauge("shipbot_queue_jobs", "Jobs in the queue, by status", ["status"], registry=r)
        # DORA, production deploys of every repository pooled; a figure with too little data is absent.
        self.dora_deploys = Gauge("shipbot_dora_deploys", "Finished production deploys in the window, by result",
                                  ["window", "result"], registry=r)
        self.dora_frequency = Gauge("shipbot_dora_deployment_frequency_per_week",
                                    "Successful production deploys per week over the window", ["window"], registry=r)
        self.dora_lead_time = Gauge("shipbot_dora_lead_time_seconds",
                                    "Lead time for changes, commit to successful production deploy",
                                    ["window", "quantile"], registry=r)
        self.dora_failure_rate = Gauge("shipbot_dora_change_failure_ratio",
                                       "Share of production deploys that failed, were rolled back or hotfixed",
                                       ["window"], registry=r)
        self.dora_restore = Gauge("shipbot_dora_time_to_restore_seconds",
                                  "Median time from a failed production deploy to the next good one",
                                  ["window"], registry=r)
        self._dora_due = 0.0
        self.clock = time.monotonic
        self._delivery_counters: dict[tuple[str, str, str], object] = {}

    def delivered(self, source: str, event: str, outcome: str) -> None:
        """Count one delivery. The labelled child is kept: looking it up costs more than the count."""
        key = (source, event, outcome)
        child = self._delivery_counters.get(key)
        if child is None:
            child = self._delivery_counters[key] = self.deliveries.labels(source, event, outcome)
        child.inc()

    def dora_due(self) -> bool:
        """True at most once per DORA_CACHE_SECONDS: the caller then computes and calls set_dora."""
        now = self.clock()
        if now < self._dora_due:
            return False
        self._dora_due = now + DORA_CACHE_SECONDS
        return True

    def set_dora(self, totals: Mapping[int, "DoraMetrics | None"]) -> None:
        """Replace the DORA gauges with these pooled figures, one set per window."""
        for gauge in (self.dora_deploys, self.dora_frequency, self.dora_lead_time, self.dora_failure_rate,
                      self.dora_restore):
            gauge.clear()
        for days, m in totals.items():
            window = f"{days}d"
            self.dora_deploys.labels(window, "success").set(m.deploys if m else 0)
            self.dora_deploys.labels(window, "failed").set(m.failed_deploys if m else 0)
            if m is None:
                continue
            for gauge, labels, value in (
                    (self.dora_frequency, (window,), m.deployment_frequency_per_week),
                    (self.dora_lead_time, (window, "0.5"), m.lead_time_median_s),
                    (self.dora_lead_time, (window, "0.9"), m.lead_time_p90_s),
                    (self.dora_failure_rate, (window,), m.change_failure_rate),
                    (self.dora_restore, (window,), m.time_to_restore_median_s)):
                if value is not None:
                    gauge.labels(*labels).set(value)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
