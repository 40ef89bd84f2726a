"""Computed OPEL: points, score and level follow config/opel.toml, and missing stays missing."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from hub.domain.errors import ConfigError
from hub.domain.metrics import CATALOGUE
from hub.domain.opel import OpelConfig, parse_config, score
from hub.domain.opel_inputs import DERIVED, Capacity, nctr_pct, over_12h_pct, share

CONFIG = Path(__file__).parents[2] / "config" / "opel.toml"


def document() -> dict[str, Any]:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def config() -> OpelConfig:
    return parse_config(document(), set(CATALOGUE) | DERIVED)


def points_by_hand(entry: dict[str, Any], value: float) -> int:
    """Count the thresholds crossed, reading the file's own table."""
    crossed = [
        (value >= t) if entry["worse"] == "higher" else (value < t) for t in entry["thresholds"]
    ]
    return 1 + sum(crossed)


def test_the_shipped_config_says_it_is_an_example_and_names_its_framework() -> None:
    text = CONFIG.read_text(encoding="utf-8")
    assert "EXAMPLE DEFAULTS" in text
    doc = document()
    assert doc["framework"] == "2024-26"
    assert {p["source"].split()[0] for p in doc["parameter"]} == {"example"}


@pytest.mark.parametrize("step", [0, 1, 2, 3])
def test_points_and_score_follow_the_file_at_every_band(step: int) -> None:
    doc, cfg = document(), config()
    values = {}
    for entry in doc["parameter"]:
        t = entry["thresholds"]
        # A value inside band `step`: half a unit short of the first threshold, or past the
        # step-th (a "higher" threshold counts from the value itself, a "lower" one below it).
        worse = 0.5 if entry["worse"] == "higher" else -0.5
        values[entry["name"]] = t[0] - worse if step == 0 else t[step - 1] + min(worse, 0)
    scored, total, level = score(cfg, values)
    expected_total = 0.0
    for s, entry in zip(scored, doc["parameter"], strict=True):
        want = points_by_hand(entry, values[entry["name"]])
        assert s.points == want == step + 1
        expected_total += entry["weight"] * want
    assert total == pytest.approx(expected_total)
    levels = doc["levels"]
    want_level = 1 + sum(expected_total > levels[k] for k in ("1", "2", "3"))
    assert level == want_level == step + 1  # weights sum to 11: all in band k scores 11k


def test_next_band_at_is_the_next_threshold_and_the_band_is_described() -> None:
    cfg = config()
    four_hour = next(p for p in cfg.parameters if p.name == "four_hour")
    scored, _, _ = score(cfg, {"four_hour": 72.0})
    s = next(x for x in scored if x.parameter is four_hour)
    assert (s.points, s.next_band_at, s.band) == (2, 70.0, "under 78, at least 70")
    handover = next(
        x for x in score(cfg, {"handover_mean": 61.0})[0] if x.parameter.name == "handover_mean"
    )
    assert (handover.points, handover.next_band_at, handover.band) == (4, None, "60 or more")


def test_missing_inputs_are_left_out_and_the_score_is_scaled_from_the_weight_present() -> None:
    cfg = config()
    worst = {p.name: (1e6 if p.worse == "higher" else 0.0) for p in cfg.parameters}
    del worst["majors_resus_occupancy"], worst["referred"]  # 2.5 of 11 weight missing
    scored, total, level = score(cfg, worst)
    missing = [s for s in scored if s.points is None]
    assert {s.parameter.name for s in missing} == {"majors_resus_occupancy", "referred"}
    assert all(s.value is None and s.band is None for s in missing)
    assert total == pytest.approx(44.0)  # 8.5 × 4 scaled by 11 / 8.5
    assert level == 4


def test_with_under_half_the_weight_present_there_is_no_computed_level() -> None:
    scored, total, level = score(config(), {"ga_occupancy": 99.0, "four_hour": 50.0})
    assert (total, level) == (None, None)
    assert [s.points for s in scored if s.points is not None] == [4, 4]


def test_a_bad_config_is_refused_with_the_parameter_named() -> None:
    doc = document()
    doc["parameter"][1]["thresholds"] = [60, 70, 78]  # rising, but lower is worse
    with pytest.raises(ConfigError, match="four_hour"):
        parse_config(doc, set(CATALOGUE) | DERIVED)
    doc = document()
    doc["parameter"][0]["input"] = "no.such_metric"
    with pytest.raises(ConfigError, match=r"no\.such_metric"):
        parse_config(doc, set(CATALOGUE) | DERIVED)


def test_derived_inputs_are_missing_not_zero_without_a_denominator() -> None:
    assert share(3, 0) is None and share(None, 10) is None
    assert share(3, 12) == pytest.approx(25.0)
    assert over_12h_pct(0, 0) is None
    assert over_12h_pct(40, 38) == pytest.approx(5.0)
    assert nctr_pct(None) is None
    assert nctr_pct({"no_criteria_to_reside": 50, "ga_beds_occupied": 400}) == pytest.approx(12.5)
    capacity = Capacity(20, {"RWE": 58})
    assert (capacity.spaces("RWE", 3), capacity.spaces("RX1", 2)) == (58, 40)
    assert Capacity().spaces("RX1", 2) is None
