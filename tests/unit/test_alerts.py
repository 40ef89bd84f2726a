"""Which alerts belong on which page, and which series are watched."""

from __future__ import annotations

from typing import Any, cast

import pytest

from hub.domain.orgs import ReferenceData
from hub.domain.rag import Threshold
from hub.services import alerts as A


def service(ref: ReferenceData, thresholds: dict[str, Threshold]) -> A.AlertsService:
    # Only the reference data and thresholds are used by what these tests call.
    nothing = cast(Any, None)
    return A.AlertsService(ref, nothing, nothing, nothing, thresholds, lambda: 0, nothing)


def test_the_watched_hourly_series_are_the_window_metrics_with_a_target(
    ref: ReferenceData,
) -> None:
    thresholds = {
        "handover.mean_minutes": Threshold("handover.mean_minutes", "lower", 15, 30, target=15),
        "handover.over_60": Threshold("handover.over_60", "lower", 0, 0),  # no target
        "beds.ga_occupancy_pct": Threshold("beds.ga_occupancy_pct", "lower", 92, 95, target=92),
    }
    watched = [m.id for m in service(ref, thresholds).key_metrics()]
    assert watched == ["handover.mean_minutes"]  # SitReps are daily; no target, no watch


@pytest.mark.parametrize(
    ("scope", "includes", "excludes"),
    [
        ("national", {"national", "region/Y60", "org/RWE"}, {"site/RWEAA"}),
        ("region/Y60", {"region/Y60", "org/RWE", "org/RX9"}, {"national", "org/R1H"}),
        ("org/RWE", {"org/RWE"}, {"region/Y60"}),
        ("site/RWEAA", {"org/RWE"}, {"site/RWEAA", "region/Y60"}),
    ],
)
def test_a_page_shows_its_own_alerts_and_those_of_the_scopes_below_it(
    ref: ReferenceData, scope: str, includes: set[str], excludes: set[str]
) -> None:
    svc = service(ref, {})
    kept = svc._within(A.resolve(ref, scope))
    assert includes <= kept
    assert not excludes & kept


def test_a_sites_page_shows_its_trusts_alerts(ref: ReferenceData) -> None:
    assert service(ref, {}).root("site/RWEAA").key == "org/RWE"
    assert service(ref, {}).root("region/Y60").key == "region/Y60"
