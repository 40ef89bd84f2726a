"""Which operational values reach Prometheus: a bounded set of metrics, windows and scopes."""

from __future__ import annotations

from typing import Any

from hub.domain.headlines import UecValue, headline_scopes, headline_values
from hub.domain.metrics import CATALOGUE, HEADLINES, LATEST, NOW, Kind
from hub.domain.orgs import ReferenceData
from hub.domain.windows import WINDOWS


def test_every_headline_is_a_catalogue_metric_with_windows_of_its_kind() -> None:
    for metric, windows in HEADLINES.items():
        kind = CATALOGUE[metric].kind
        allowed = {Kind.WINDOW: set(WINDOWS), Kind.GAUGE: {NOW}, Kind.SITREP: {LATEST}}[kind]
        assert set(windows) <= allowed, metric


def test_scopes_are_national_regions_and_organisations_never_sites(ref: ReferenceData) -> None:
    scopes = headline_scopes(ref)
    assert [s.type for s in scopes].count("national") == 1
    assert {s.code for s in scopes if s.type == "region"} == set(ref.regions)
    assert {s.code for s in scopes if s.type == "org"} == set(ref.organisations)
    assert all(s.type != "site" for s in scopes)


def test_the_series_count_stays_bounded(ref: ReferenceData) -> None:
    pairs = sum(len(w) for w in HEADLINES.values())
    assert pairs * len(headline_scopes(ref)) < 5_000


def body(scope: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    return {"scope": scope, "as_of": "2026-01-01T00:00:00Z", "metrics": metrics}


def test_values_are_picked_per_window_gauge_and_sitrep_skipping_nulls() -> None:
    windows = {"15m": 1, "1h": 2, "4h": None, "24h": 9}
    bodies = [
        body(
            {"type": "org", "code": "RWE", "name": "x"},
            {
                "handover.over_60": {"unit": "count", "windows": windows, "rag": "red"},
                "handover.mean_minutes": {"unit": "minutes", "windows": windows, "rag": "none"},
                "handover.waiting_now": {"unit": "count", "value": 4, "rag": "none"},
                "handover.arrivals": {"unit": "count", "windows": windows, "rag": "none"},
                "beds.ga_occupancy_pct": {"unit": "%", "value": 93.5, "date": "2026-01-01"},
            },
        ),
        body({"type": "national", "code": None, "name": "England"}, {}),
    ]
    assert sorted(headline_values(bodies), key=lambda v: (v.metric, v.window)) == [
        UecValue("beds.ga_occupancy_pct", "org/RWE", "latest", 93.5),
        UecValue("handover.over_60", "org/RWE", "1h", 2.0),
        UecValue("handover.over_60", "org/RWE", "24h", 9.0),
        UecValue("handover.waiting_now", "org/RWE", "now", 4.0),
    ]
