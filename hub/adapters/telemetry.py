"""Prometheus metrics of SPEC §7, on an injected registry (never the global one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)


def _deadletter_counter(registry: CollectorRegistry) -> Counter:
    # Workers and the API both dead-letter; each process counts its own on its own registry.
    return Counter(
        "hub_deadletter_records",
        "Records sent to the dead-letter topic",
        ["feed", "reason"],
        registry=registry,
    )


class WorkerMetrics:
    """What a stream worker counts: implements the WorkerTelemetry port."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.processed = Counter(
            "hub_processed_records",
            "Records applied (or found unchanged) by workers",
            ["feed"],
            registry=registry,
        )
        self.deadletters = _deadletter_counter(registry)
        self.lag = Gauge(
            "hub_consumer_lag_records",
            "Records in a partition not yet applied",
            ["topic", "partition"],
            registry=registry,
        )
        self.visible = Histogram(
            "hub_ingest_to_visible_seconds",
            "From accept to visible in Redis",
            ["feed"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.batches = Counter("hub_worker_batches", "Partition batches applied", registry=registry)
        self.batch_seconds = Histogram(
            "hub_worker_batch_seconds",
            "Time to apply one partition batch",
            registry=registry,
        )
        self._paused = Counter(
            "hub_worker_pauses",
            "Times a worker paused because Kafka or Redis was unavailable",
            ["service"],
            registry=registry,
        )
        self._poison = Counter(
            "hub_worker_poison_records",
            "Records skipped because applying them failed",
            ["feed"],
            registry=registry,
        )
        self._lost = Counter(
            "hub_offsets_lost",
            "Records deleted from a feed topic before any worker applied them",
            ["topic", "partition"],
            registry=registry,
        )
        self._resets = Counter(
            "hub_log_resets",
            "Feed partitions found deleted and re-created (read again from their beginning)",
            ["topic", "partition"],
            registry=registry,
        )
        self._failed = Counter(
            "hub_worker_apply_failures",
            "Partition batches that failed to apply and are read again after a backoff",
            ["topic", "partition", "reason"],
            registry=registry,
        )
        self._backlog = Gauge(
            "hub_deadletter_outbox_records",
            "Dead letters decided but not yet published to the dead-letter topic",
            registry=registry,
        )
        self._parked = Counter(
            "hub_deadletter_parked",
            "Dead letters moved aside (outbox:parked) because they could not be published",
            ["reason"],
            registry=registry,
        )
        for reason in ("refused", "unreadable"):  # present from the start, so alerts see a rise
            self._parked.labels(reason=reason)
        self._dropped = Counter(
            "hub_deadletter_dropped",
            "Dead letters dropped unpublished because the outbox held its most",
            registry=registry,
        )
        self._stalled = Gauge(
            "hub_worker_stalled_partitions",
            "Partitions this worker holds with records waiting and no progress for "
            "HUB_WORKER_STALLED_AFTER_S",
            registry=registry,
        )
        self._lag_partitions: set[tuple[str, int]] = set()

    def paused(self, reason: str) -> None:
        self._paused.labels(service=reason).inc()

    def poison(self, feed: str) -> None:
        self._poison.labels(feed=feed).inc()

    def dead_lettered(self, feed: str, reason: str) -> None:
        self.deadletters.labels(feed=feed, reason=reason).inc()

    def batch_applied(
        self,
        seconds: float,
        processed: Mapping[str, int],
        visible_after_s: Sequence[tuple[str, float]],
    ) -> None:
        self.batches.inc()
        self.batch_seconds.observe(seconds)
        for feed, n in processed.items():
            if n:
                self.processed.labels(feed=feed).inc(n)
        for feed, seconds_visible in visible_after_s:
            self.visible.labels(feed=feed).observe(seconds_visible)

    def offsets_lost(self, topic: str, partition: int, count: int) -> None:
        self._lost.labels(topic=topic, partition=str(partition)).inc(count)

    def log_reset(self, topic: str, partition: int) -> None:
        self._resets.labels(topic=topic, partition=str(partition)).inc()

    def apply_failed(self, topic: str, partition: int, reason: str) -> None:
        self._failed.labels(topic=topic, partition=str(partition), reason=reason).inc()

    def outbox_backlog(self, letters: int) -> None:
        self._backlog.set(letters)

    def letters_parked(self, reason: str) -> None:
        self._parked.labels(reason=reason).inc()

    def letters_dropped(self, count: int) -> None:
        self._dropped.inc(count)

    def stalled(self, partitions: int) -> None:
        self._stalled.set(partitions)

    def set_lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        """Publish the lag of the partitions this worker holds now, and only those.

        A partition that moved to another worker in a rebalance is removed
        here, or two workers would report it and the old value would never
        go down.
        """
        for topic, partition in self._lag_partitions - set(lags):
            self.lag.remove(topic, str(partition))
        for (topic, partition), lag in lags.items():
            self.lag.labels(topic=topic, partition=str(partition)).set(lag)
        self._lag_partitions = set(lags)


class IngestMetrics:
    """What the HTTP ingest service counts."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = Counter(
            "hub_ingest_records",
            "Records received over HTTP, by outcome",
            ["feed", "org", "outcome"],
            registry=registry,
        )
        self.requests = Counter(
            "hub_ingest_requests",
            "Ingest requests, by status code",
            ["feed", "status"],
            registry=registry,
        )
        self.deadletters = _deadletter_counter(registry)
        self.reads_refused = Counter(
            "hub_read_refused",
            "Reads refused with 429 because a client passed HUB_READ_REQUESTS_PER_MINUTE",
            registry=registry,
        )


class StreamMetrics:
    """What the live and alert streams of an API process count: the StreamTelemetry port."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._open = Gauge(
            "hub_sse_connections", "Live and alert streams open in this process", registry=registry
        )
        self._refused = Counter(
            "hub_sse_refused",
            "Live streams refused at a cap (process: 503, token: 429)",
            ["limit"],
            registry=registry,
        )
        self._dropped = Counter(
            "hub_sse_dropped",
            "Live streams closed by the hub because the client fell behind",
            registry=registry,
        )

    def opened(self) -> None:
        self._open.inc()

    def closed(self) -> None:
        self._open.dec()

    def refused(self, limit: str) -> None:
        self._refused.labels(limit=limit).inc()

    def dropped(self) -> None:
        self._dropped.inc()
