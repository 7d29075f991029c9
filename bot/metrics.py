"""Count what the service does, for Prometheus: aggregate numbers only, never names or refs."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


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

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
