"""Which operational values reach Prometheus: a bounded set of metrics, windows and scopes."""

from __future__ import annotations

from hub.domain.figures import Figure, Reading, ScopeFigures
from hub.domain.headlines import UecValue, headline_scopes, headline_values
from hub.domain.metrics import CATALOGUE, HEADLINES, LATEST, NOW, Kind, Value
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import ScopeRef
from hub.domain.triage import Judgement
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


def figures(scope: ScopeRef, readings: list[Reading]) -> ScopeFigures:
    none = Judgement("none", None)
    return ScopeFigures(scope, {r.metric.id: Figure(r, none) for r in readings}, 0)


def test_values_are_picked_per_window_gauge_and_sitrep_skipping_nulls() -> None:
    windows: dict[str, Value] = {"15m": 1, "1h": 2, "4h": None, "24h": 9}
    scopes = [
        figures(
            ScopeRef("org", "RWE", "x"),
            [
                Reading(CATALOGUE["handover.over_60"], windows=windows),
                Reading(CATALOGUE["handover.mean_minutes"], windows=windows),
                Reading(CATALOGUE["handover.waiting_now"], value=4),
                Reading(CATALOGUE["handover.arrivals"], windows=windows),
                Reading(CATALOGUE["beds.ga_occupancy_pct"], value=93.5),
            ],
        ),
        figures(ScopeRef("national", None, "England"), []),
    ]
    assert sorted(headline_values(scopes), key=lambda v: (v.metric, v.window)) == [
        UecValue("beds.ga_occupancy_pct", "org/RWE", "latest", 93.5),
        UecValue("handover.over_60", "org/RWE", "1h", 2.0),
        UecValue("handover.over_60", "org/RWE", "24h", 9.0),
        UecValue("handover.waiting_now", "org/RWE", "now", 4.0),
    ]
