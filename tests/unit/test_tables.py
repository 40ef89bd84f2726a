"""CSV downloads: the same figures as the JSON, safe in a spreadsheet."""

from __future__ import annotations

import csv
import io

from hub.api.tables import cell, series_csv


def parse(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_text_that_a_spreadsheet_would_run_is_quoted_and_numbers_are_kept_exact() -> None:
    assert cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert cell("@SUM") == "'@SUM" and cell("-1") == "'-1"
    assert cell(-1.5) == -1.5 and cell(0.1 + 0.2) == 0.30000000000000004
    assert cell(None) == "" and cell(True) == "true"


def test_a_series_becomes_one_row_per_period_with_its_spc_lines() -> None:
    body = {
        "metric": "ed.four_hour_pct",
        "scope": {"type": "org", "code": "RWE", "name": "Leicester"},
        "resolution": "hour",
        "points": [
            {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z", "value": 71.25,
             "complete": True, "special_cause": None, "kind": None, "side": None},
            {"start": "2026-01-01T01:00:00Z", "end": "2026-01-01T02:00:00Z", "value": None,
             "complete": False, "special_cause": None, "kind": None, "side": None},
        ],
        "spc": {"mean": 70.5, "upper_limit": 80.0, "lower_limit": 61.0, "target": 78.0},
    }  # fmt: skip
    response = series_csv(body)
    assert response.media_type == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    rows = parse(bytes(response.body))
    assert [r["value"] for r in rows] == ["71.25", ""]
    assert rows[0]["scope"] == "org/RWE" and rows[0]["mean"] == "70.5"
    assert rows[1]["complete"] == "false"
