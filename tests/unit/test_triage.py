"""RAG lines per scope level: shares, counts per unit, and the base line where a level has none."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.adapters.reference_files import load_scoped_thresholds
from hub.bootstrap import SHARE_BASES
from hub.domain.errors import ConfigError
from hub.domain.orgs import ReferenceData
from hub.domain.rag import Threshold
from hub.domain.scopes import resolve
from hub.domain.triage import LevelRule, ScopedThresholds, judge, units_in
from tests.conftest import CONFIG

OVER_60 = Threshold("handover.over_60", "lower", 0, 0)
SHARE = LevelRule(Threshold("handover.over_60", "lower", 0, 5), of="handover.completed")
SCOPED = ScopedThresholds({"handover.over_60": OVER_60}, {"handover.over_60": {"region": SHARE}})


def test_a_level_without_its_own_rule_judges_the_raw_value_by_the_base_line() -> None:
    rule = SCOPED.rule("handover.over_60", "org")
    verdict = judge(rule, 1, None, 0)
    assert (verdict.rag, verdict.value, verdict.basis) == ("red", 1, None)


def test_a_region_judges_the_share_of_completed_handovers_in_the_same_window() -> None:
    rule = SCOPED.rule("handover.over_60", "region")
    assert rule is not None and rule.threshold.window == "4h"  # both read in this window
    verdict = judge(rule, 6, 200, 0)
    assert verdict.value == pytest.approx(3.0) and verdict.rag == "amber"
    assert verdict.basis is not None
    assert verdict.basis.count == 6 and verdict.basis.denominator == 200
    assert verdict.basis.unit == "percent" and verdict.basis.red == 5
    assert judge(rule, 12, 200, 0).rag == "red"


def test_a_share_with_nothing_to_share_is_not_judged() -> None:
    verdict = judge(SCOPED.rule("handover.over_60", "region"), 0, 0, 0)
    assert verdict.rag == "none" and verdict.value is None


def test_a_count_per_site_divides_by_the_sites_in_the_scope(ref: ReferenceData) -> None:
    rule = LevelRule(Threshold("ed.dta_over_12h", "lower", 0, 2), per="site")
    region = resolve(ref, "region/Y60")
    sites = units_in(ref, region, "site")
    expected = sum(len(ref.sites_of(o.code)) for o in ref.with_role("acute") if o.region == "Y60")
    assert sites == expected > 1
    verdict = judge(rule, 3 * sites, None, sites)
    assert verdict.value == pytest.approx(3.0) and verdict.rag == "red"
    assert units_in(ref, resolve(ref, "org/RWE"), "trust") == 1
    assert units_in(ref, resolve(ref, "site/RWEAA"), "site") == 1


def test_no_line_means_no_rag() -> None:
    assert judge(None, 5, None, 0).rag == "none"


def test_the_shipped_config_judges_handovers_over_60_as_a_share_above_the_site(
    tmp_path: Path,
) -> None:
    scoped = load_scoped_thresholds(CONFIG, SHARE_BASES)
    assert scoped.rule("handover.over_60", "site") == LevelRule(scoped.base["handover.over_60"])
    for level in ("org", "region", "national"):
        rule = scoped.rule("handover.over_60", level)
        assert rule is not None and rule.of == "handover.completed"
        assert rule.threshold.better == "lower"  # inherited from the metric


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ('[metrics."handover.over_60".levels.ward]\ngreen = 0', "level must be one of"),
        ('[metrics."handover.over_60".levels.org]\nof = "nope"\ngreen = 0', "window metric"),
        ('[metrics."handover.over_60".levels.org]\nper = "bed"\ngreen = 0', "'per' must be"),
        (
            '[metrics."handover.over_60".levels.org]\nof = "handover.completed"\nper = "site"\ngreen = 0',
            "not both",
        ),
        ('[metrics."handover.over_60".levels.org]\nof = "handover.completed"', "green"),
    ],
)
def test_a_bad_level_rule_is_refused_with_a_reason(
    tmp_path: Path, levels: str, message: str
) -> None:
    base = '[metrics."handover.over_60"]\nbetter = "lower"\ngreen = 0\nred = 0\n\n'
    (tmp_path / "thresholds.toml").write_text(base + levels, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_scoped_thresholds(tmp_path, {"handover.over_60", "handover.completed"})
