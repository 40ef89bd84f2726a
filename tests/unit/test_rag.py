"""Red/amber/green from thresholds (SPEC §4 RAG): both directions, the lines themselves, no red line."""

from __future__ import annotations

import pytest

from hub.domain.errors import ConfigError
from hub.domain.rag import RAG_NONE, Threshold, rag

C2_MEAN = Threshold("ambulance.c2.mean_seconds", "lower", green=1080, red=1800)
FOUR_HOUR = Threshold("ed.four_hour_pct", "higher", green=78, red=60)
OVER_30 = Threshold("handover.over_30", "lower", green=0)  # no red line: never worse than amber
ANSWERED = Threshold("nhs111.answered_within_60s_pct", "higher", green=90)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "green"),
        (1079.9, "green"),
        (1080, "green"),  # on the green line
        (1080.1, "amber"),
        (1800, "amber"),  # on the red line
        (1800.1, "red"),
        (10_000, "red"),
    ],
)
def test_where_lower_is_better_a_value_is_green_up_to_the_green_line_and_red_past_the_red(
    value: float, expected: str
) -> None:
    assert rag(value, C2_MEAN) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (100, "green"),
        (78, "green"),  # on the green line
        (77.99, "amber"),
        (60, "amber"),  # on the red line
        (59.99, "red"),
        (0, "red"),
    ],
)
def test_where_higher_is_better_a_value_is_green_from_the_green_line_and_red_below_the_red(
    value: float, expected: str
) -> None:
    assert rag(value, FOUR_HOUR) == expected


@pytest.mark.parametrize(
    ("threshold", "value", "expected"),
    [
        (OVER_30, 0, "green"),
        (OVER_30, 1, "amber"),
        (OVER_30, 1_000_000, "amber"),
        (ANSWERED, 90, "green"),
        (ANSWERED, 0, "amber"),
    ],
)
def test_without_a_red_line_a_value_is_never_worse_than_amber(
    threshold: Threshold, value: int, expected: str
) -> None:
    assert rag(value, threshold) == expected


@pytest.mark.parametrize(
    ("value", "threshold"),
    [(None, C2_MEAN), (None, FOUR_HOUR), (1080, None), (None, None)],
)
def test_a_metric_without_a_value_or_without_a_threshold_is_none(
    value: float | None, threshold: Threshold | None
) -> None:
    assert rag(value, threshold) == RAG_NONE == "none"


def test_equal_green_and_red_lines_leave_no_amber() -> None:
    strict = Threshold("handover.over_60", "lower", green=0, red=0)
    assert [rag(v, strict) for v in (0, 1)] == ["green", "red"]


@pytest.mark.parametrize(
    ("better", "green", "red", "message"),
    [
        ("smaller", 1, None, "better must be 'lower' or 'higher'"),
        ("", 1, 2, "better must be 'lower' or 'higher'"),
        ("lower", 1080, 900, "the red line is on the green side"),  # red below green
        ("higher", 78, 90, "the red line is on the green side"),  # red above green
    ],
)
def test_a_threshold_that_makes_no_sense_is_a_config_error(
    better: str, green: float, red: float | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        Threshold("some.metric", better, green=green, red=red)
    assert "some.metric" in str(caught.value)


def test_a_threshold_is_judged_on_the_4h_window_unless_told_otherwise() -> None:
    assert C2_MEAN.window == "4h"
    assert C2_MEAN.target is None
