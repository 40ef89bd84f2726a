"""The league rendered at the HTTP edge: its JSON body and its CSV say the same of one League."""

from __future__ import annotations

import csv
import io

from hub.api.render_intel import league_json
from hub.api.tables import LEAGUE_COLUMNS, league_csv
from hub.domain.funnel import Unit, fit
from hub.domain.league import LEAGUE_METRICS
from hub.services.league import League

AT = 1_764_000_000_000  # 2025-11-24T16:00:00Z
UNITS = (Unit("RZZ", 180, 200), Unit("RAA", 90, 120), Unit("RMM", 610, 700), Unit("RQQ", 0, 0))
NAMES = {"RZZ": "Alpha Hospitals", "RAA": "Zulu Trust", "RMM": "Mike Trust", "RQQ": "Quiet Trust"}


def league() -> League:
    return League(
        LEAGUE_METRICS["ed.four_hour_pct"], "24h", "acute", AT, fit(UNITS), NAMES, ("RQQ",), 700
    )


def test_the_body_lists_organisations_by_name_with_percentages_and_never_a_rank() -> None:
    body = league_json(league())
    units = body["units"]
    assert isinstance(units, list)
    assert [u["name"] for u in units] == ["Alpha Hospitals", "Mike Trust", "Zulu Trust"]
    by_code = {u["code"]: u for u in units}
    assert by_code["RAA"]["value"] == 75.0 and by_code["RZZ"]["value"] == 90.0
    assert (body["as_of"], body["no_data"]) == ("2025-11-24T16:00:00Z", ["RQQ"])
    assert "rank" not in str(body)


def test_the_curve_is_drawn_past_the_largest_denominator_at_each_denominator_once() -> None:
    curve = league_json(league())["curve"]
    assert isinstance(curve, list)
    denominators = [point["denominator"] for point in curve]
    assert denominators == sorted(set(denominators))
    assert denominators[-1] >= 700


def test_the_csv_has_a_row_for_each_unit_of_the_body_with_the_same_values() -> None:
    one = league()
    body = league_json(one)
    response = league_csv(one)
    rows = list(csv.DictReader(io.StringIO(bytes(response.body).decode("utf-8-sig"))))
    assert list(rows[0]) == LEAGUE_COLUMNS
    assert 'filename="league-ed.four_hour_pct-24h.csv"' in response.headers["content-disposition"]
    units = body["units"]
    assert isinstance(units, list)
    assert [r["code"] for r in rows] == [u["code"] for u in units]
    for row, unit in zip(rows, units, strict=True):
        assert float(row["value"]) == unit["value"] and float(row["z"]) == unit["z"]
        assert float(row["upper998"]) == unit["limits"]["upper998"]
        assert float(row["unadjusted_lower95"]) == unit["unadjusted_limits"]["lower95"]
        assert row["flag"] == unit["flag"]
        assert row["marked"] == ("true" if unit["marked"] else "false")
