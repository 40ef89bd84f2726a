"""Computed OPEL, by hand: the scale's ends, coverage, exclusions and contributions that add up."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from hub.domain.errors import ConfigError
from hub.domain.metrics import CATALOGUE, Kind
from hub.domain.opel import OpelConfig, Reading, score
from hub.domain.opel_config import parse_config
from hub.domain.opel_inputs import (
    DERIVED,
    majors_resus_occupancy,
    nctr_pct,
    over_12h_pct,
    share,
)

CONFIG = Path(__file__).parents[2] / "config" / "opel.toml"
WINDOWS = {m.id for m in CATALOGUE.values() if m.kind is Kind.WINDOW}
# A value in each band (1–4 points) of each shipped parameter, read off config/opel.toml.
BANDS = {
    "handover_mean": (10, 20, 45, 75),  # thresholds 15, 30, 60 minutes
    "four_hour": (85, 75, 65, 50),  # 78, 70, 60 % (lower is worse)
    "majors_resus_occupancy": (50, 90, 110, 130),  # 85, 100, 120 %
    "time_to_treatment": (30, 70, 100, 150),  # 60, 90, 120 minutes
    "over_12h": (1, 3, 7, 12),  # 2, 5, 10 %
    "referred": (10, 25, 35, 45),  # 20, 30, 40 %
    "ga_occupancy": (90, 93, 96, 99),  # 92, 95, 98 %
    "no_criteria_to_reside": (5, 12, 17, 25),  # 10, 15, 20 %
}
ENOUGH = 1000  # records behind every since-midnight value


def document() -> dict[str, Any]:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def config(doc: dict[str, Any] | None = None) -> OpelConfig:
    return parse_config(doc or document(), set(CATALOGUE) | DERIVED, WINDOWS)


def in_band(points: int, **overrides: Reading) -> dict[str, Reading]:
    """Return a reading of every parameter in band `points`, with enough records behind it."""
    readings = {name: Reading(float(v[points - 1]), ENOUGH) for name, v in BANDS.items()}
    return readings | overrides


def test_the_shipped_config_says_it_is_an_example_and_names_its_framework() -> None:
    text = CONFIG.read_text(encoding="utf-8")
    assert "EXAMPLE DEFAULTS" in text
    doc = document()
    assert doc["framework"] == "2024-26"
    assert {p["source"].split()[0] for p in doc["parameter"]} == {"example"}
    assert set(BANDS) == {p["name"] for p in doc["parameter"]}
    assert doc["min_coverage_pct"] == 75


def test_every_parameter_in_its_best_band_is_opel_1_and_in_its_worst_opel_4() -> None:
    best, worst = score(config(), in_band(1)), score(config(), in_band(4))
    assert (best.score, best.level, best.coverage_pct) == (1.0, 1, 100.0)
    assert (worst.score, worst.level) == (4.0, 4)
    assert [s.points for s in best.scored] == [1] * 8
    assert sum(s.contribution or 0 for s in worst.scored) == pytest.approx(4.0)


@pytest.mark.parametrize("band", [1, 2, 3, 4])
def test_every_parameter_in_band_k_is_opel_k(band: int) -> None:
    result = score(config(), in_band(band))
    assert (result.score, result.level) == (float(band), band)


def test_one_parameter_just_past_its_first_line_no_longer_makes_opel_2() -> None:
    # Issue 22: a handover mean of exactly 15 min, or 77.9% in 4 hours, gave OPEL 2 before.
    for name, value in (("handover_mean", 15.0), ("four_hour", 77.9)):
        result = score(config(), in_band(1, **{name: Reading(value, ENOUGH)}))
        assert (result.score, result.level) == (1.136, 1), name  # 1 + 1.5 / 11


def test_contributions_add_up_to_the_score_by_hand() -> None:
    readings = {
        "handover_mean": Reading(35.0, 80),  # 30 to under 60: 3 points × 1.5
        "four_hour": Reading(72.0, 300),  # under 78, at least 70: 2 × 1.5
        "time_to_treatment": Reading(50.0, 200),  # under 60: 1 × 1
        "over_12h": Reading(6.0),  # 5 to under 10: 3 × 1.5
        "referred": Reading(25.0),  # 20 to under 30: 2 × 1
        "ga_occupancy": Reading(96.0),  # 95 to under 98: 3 × 2
        "no_criteria_to_reside": Reading(12.0),  # 10 to under 15: 2 × 1
    }  # majors and resus occupancy is missing: 9.5 of 11 counts (86.4%)
    result = score(config(), readings)
    contributions = {s.parameter.name: s.contribution for s in result.scored}
    assert contributions == {  # 23 points / 9.5, each rounded so that they add up
        "handover_mean": 0.474,
        "four_hour": 0.316,
        "majors_resus_occupancy": None,
        "time_to_treatment": 0.105,
        "over_12h": 0.474,
        "referred": 0.21,
        "ga_occupancy": 0.632,
        "no_criteria_to_reside": 0.21,
    }
    assert result.score == 2.421  # 23 / 9.5 = 2.4210…
    assert round(sum(c for c in contributions.values() if c is not None), 3) == result.score
    assert (result.level, result.weight_counted, result.coverage_pct) == (2, 9.5, 86.4)
    (missing,) = [s for s in result.scored if s.contribution is None]
    assert (missing.status, missing.reason) == ("missing", "not reported")


def test_with_only_half_the_weight_there_is_no_level_never_a_level_4() -> None:
    worst = in_band(4)
    half = {k: worst[k] for k in ("handover_mean", "time_to_treatment", "referred", "ga_occupancy")}
    result = score(config(), half)  # 1.5 + 1 + 1 + 2 = 5.5 of 11
    assert (result.score, result.level, result.coverage_pct) == (None, None, 50.0)
    assert result.reason == "insufficient inputs: 50% of the weight counts, 75% needed"
    # Issue 22: four ED parameters (6 of 11), three at worst, gave OPEL 4 with no bed data.
    ed = {k: worst[k] for k in ("four_hour", "majors_resus_occupancy", "over_12h")}
    ed["referred"] = in_band(1)["referred"]
    assert score(config(), ed).level is None


def test_a_stale_input_is_left_out_and_named() -> None:
    stale_worst = Reading(25.0, stale=True)  # no criteria to reside, in its worst band
    result = score(config(), in_band(1, no_criteria_to_reside=stale_worst))
    assert (result.score, result.level, result.weight_counted) == (1.0, 1, 10.0)
    nctr = next(s for s in result.scored if s.parameter.name == "no_criteria_to_reside")
    assert (nctr.status, nctr.points, nctr.contribution) == ("stale", 4, None)
    assert nctr.reason == "acute-sitrep feed not live for this trust: left out"
    counted = score(config(), in_band(1, no_criteria_to_reside=Reading(25.0)))
    assert counted.score == pytest.approx(14 / 11, abs=0.001)  # what counting it would give


def test_since_midnight_parameters_count_only_from_their_minimum_count() -> None:
    few = score(config(), in_band(1, handover_mean=Reading(75.0, 9)))  # 9 of 10 needed
    handover = next(s for s in few.scored if s.parameter.name == "handover_mean")
    assert (handover.status, handover.count, handover.contribution) == ("too_few", 9, None)
    assert handover.reason == "rests on 9 records; 10 needed before it counts"
    assert few.score == 1.0
    enough = score(config(), in_band(1, handover_mean=Reading(75.0, 10)))
    assert enough.score == pytest.approx(1 + 1.5 * 3 / 11, abs=0.001)


def test_next_band_at_is_the_next_threshold_and_the_band_is_described() -> None:
    result = score(config(), {"four_hour": Reading(72.0, ENOUGH), "handover_mean": Reading(61.0)})
    four, handover = (
        next(s for s in result.scored if s.parameter.name == n)
        for n in ("four_hour", "handover_mean")
    )
    assert (four.points, four.next_band_at, four.band) == (2, 70.0, "under 78, at least 70")
    assert (handover.points, handover.next_band_at, handover.band) == (4, None, "60 or more")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["parameter"][1].update(thresholds=[60, 70, 78]), "four_hour"),
        (lambda d: d["parameter"][0].update(input="no.such_metric"), r"no\.such_metric"),
        (lambda d: d["levels"].update({"2": 1.0}), "best band scores OPEL 1"),
        (lambda d: d["levels"].update({"4": 4.5}), "at most 4"),
        (lambda d: d.update(min_coverage_pct=0), "min_coverage_pct"),
        (lambda d: d["parameter"][0].update(count_input="handover.waiting_now"), "window metric"),
        (lambda d: d["parameter"][4].update(min_count=5, count_input="ed.departures"), "'now'"),
    ],
)
def test_a_bad_config_is_refused_with_a_reason(change: Any, message: str) -> None:
    doc = document()
    change(doc)
    with pytest.raises(ConfigError, match=message):
        config(doc)


def test_derived_inputs_are_missing_not_zero_without_a_denominator() -> None:
    assert share(3, 0) is None and share(None, 10) is None
    assert share(3, 12) == pytest.approx(25.0)
    assert over_12h_pct(0, 0) is None
    assert over_12h_pct(40, 38) == pytest.approx(5.0)
    assert nctr_pct(None) is None
    assert nctr_pct({"no_criteria_to_reside": 50, "ga_beds_occupied": 400}) == pytest.approx(12.5)


def test_majors_and_resus_occupancy_is_over_the_sites_whose_spaces_are_known() -> None:
    # (in majors or resus, reporting an area, spaces): the third site's capacity is unknown.
    sites = [(30, 50, 40), (12, 20, 10), (99, 120, None)]
    assert majors_resus_occupancy(sites) == pytest.approx(100 * 42 / 50)
    assert majors_resus_occupancy([(0, 0, 40)]) is None  # no patient reports an area
    assert majors_resus_occupancy([(30, 50, None)]) is None  # no capacity in reference data
    assert majors_resus_occupancy([]) is None
