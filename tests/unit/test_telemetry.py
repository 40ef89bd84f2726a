"""Process metrics and the scrape-time collector, each on a fresh registry (never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from hub.adapters.ops_metrics import OpsCollector
from hub.adapters.telemetry import IngestMetrics, WorkerMetrics
from hub.domain.headlines import FeedState, OpsSnapshot, UecValue
from hub.domain.rag import Threshold

NOW = 1_800_000_000.0
THRESHOLDS = {
    "ed.four_hour_pct": Threshold("ed.four_hour_pct", "higher", 78, 76),
    "handover.over_30": Threshold("handover.over_30", "lower", 0),
}
SNAPSHOT = OpsSnapshot(
    taken_at_s=NOW - 5,
    values=(
        UecValue("handover.over_60", "org/RWE", "1h", 2.0),
        UecValue("ed.four_hour_pct", "national", "4h", 71.5),
        UecValue("handover.waiting_now", "region/Y56", "now", 14.0),
    ),
    feeds=(
        FeedState("ambulance-handover", "RX9", "live", NOW - 30),
        FeedState("ambulance-handover", "RX6", "stale", NOW - 7200),
        FeedState("ambulance-handover", "RX7", "never", None),
    ),
)


def collector_registry(snapshot: OpsSnapshot | None, max_age_s: float = 60.0) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(OpsCollector(lambda: snapshot, THRESHOLDS, lambda: NOW, max_age_s))
    return registry


def test_a_worker_reports_lag_only_for_the_partitions_it_holds_now() -> None:
    registry = CollectorRegistry()
    metrics = WorkerMetrics(registry)
    metrics.set_lag({("uec.acute.ed", 0): 5, ("uec.acute.ed", 1): 7})
    metrics.set_lag({("uec.acute.ed", 1): 3})

    def lag(partition: str) -> float | None:
        labels = {"topic": "uec.acute.ed", "partition": partition}
        return registry.get_sample_value("hub_consumer_lag_records", labels)

    assert lag("0") is None
    assert lag("1") == 3


def test_worker_and_ingest_metrics_use_the_spec_names() -> None:
    worker_registry, api_registry = CollectorRegistry(), CollectorRegistry()
    worker, ingest = WorkerMetrics(worker_registry), IngestMetrics(api_registry)
    worker.processed.labels(feed="acute-sitrep").inc(3)
    worker.visible.labels(feed="acute-sitrep").observe(0.2)
    ingest.records.labels(feed="acute-sitrep", org="RWE", outcome="accepted").inc(2)
    by_feed = {"feed": "acute-sitrep"}
    assert worker_registry.get_sample_value("hub_processed_records_total", by_feed) == 3
    assert worker_registry.get_sample_value("hub_ingest_to_visible_seconds_count", by_feed) == 1
    labels = {"feed": "acute-sitrep", "org": "RWE", "outcome": "accepted"}
    assert api_registry.get_sample_value("hub_ingest_records_total", labels) == 2


def test_headline_values_are_gauges_labelled_by_metric_scope_and_window() -> None:
    registry = collector_registry(SNAPSHOT)
    value = registry.get_sample_value
    assert (
        value("hub_uec_value", {"metric": "handover.over_60", "scope": "org/RWE", "window": "1h"})
        == 2
    )
    assert (
        value("hub_uec_value", {"metric": "ed.four_hour_pct", "scope": "national", "window": "4h"})
        == 71.5
    )
    assert value("hub_ops_snapshot_timestamp_seconds") == NOW - 5


def test_thresholds_are_exported_so_rules_can_compare_against_the_configured_lines() -> None:
    registry = collector_registry(None)
    assert (
        registry.get_sample_value(
            "hub_uec_threshold", {"metric": "ed.four_hour_pct", "line": "green"}
        )
        == 78
    )
    assert (
        registry.get_sample_value(
            "hub_uec_threshold", {"metric": "ed.four_hour_pct", "line": "red"}
        )
        == 76
    )
    assert (
        registry.get_sample_value(
            "hub_uec_threshold", {"metric": "handover.over_30", "line": "red"}
        )
        is None
    )


def test_feed_freshness_is_a_stale_flag_a_last_received_time_and_a_count_per_status() -> None:
    registry = collector_registry(SNAPSHOT)
    value = registry.get_sample_value
    feed = "ambulance-handover"
    assert value("hub_feed_stale", {"feed": feed, "org": "RX6"}) == 1
    assert value("hub_feed_stale", {"feed": feed, "org": "RX9"}) == 0
    assert value("hub_feed_stale", {"feed": feed, "org": "RX7"}) == 0
    assert (
        value("hub_feed_last_received_timestamp_seconds", {"feed": feed, "org": "RX9"}) == NOW - 30
    )
    assert value("hub_feed_last_received_timestamp_seconds", {"feed": feed, "org": "RX7"}) is None
    assert value("hub_feed_organisations", {"feed": feed, "status": "live"}) == 1
    assert value("hub_feed_organisations", {"feed": feed, "status": "late"}) == 0


def test_a_snapshot_older_than_the_limit_is_not_exported_but_its_time_is() -> None:
    registry = collector_registry(SNAPSHOT, max_age_s=1.0)
    labels = {"metric": "handover.over_60", "scope": "org/RWE", "window": "1h"}
    assert registry.get_sample_value("hub_uec_value", labels) is None
    assert (
        registry.get_sample_value("hub_feed_stale", {"feed": "ambulance-handover", "org": "RX6"})
        is None
    )
    assert registry.get_sample_value("hub_ops_snapshot_timestamp_seconds") == NOW - 5


def test_before_the_first_snapshot_the_exposition_is_still_valid() -> None:
    text = generate_latest(collector_registry(None)).decode()
    assert "# TYPE hub_uec_value gauge" in text
    assert "\nhub_ops_snapshot_timestamp_seconds " not in text


def test_registering_the_collector_reads_no_snapshot() -> None:
    def unavailable() -> OpsSnapshot | None:
        raise AssertionError("read at registration")

    CollectorRegistry().register(OpsCollector(unavailable, THRESHOLDS, lambda: NOW, 60.0))
