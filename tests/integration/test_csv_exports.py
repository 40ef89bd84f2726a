"""Every table downloads as CSV with the API's own figures: parse the CSV, compare with the JSON."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest

from hub.domain.orgs import ReferenceData
from hub.settings import Settings
from tests.harness import RunningApi, caught_up, running_api, running_worker
from tests.integration.test_alerts_api import handover, push, wake_every_service

pytestmark = pytest.mark.timeout(180)
MINUTE = 60_000
HOUR = 60 * MINUTE


def same(cell: str, value: Any) -> bool:
    """Say whether a CSV cell holds exactly the JSON value (empty for null)."""
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == ("true" if value else "false")
    if isinstance(value, int | float):
        return float(cell) == value
    return cell == str(value)


async def both(
    api: RunningApi, path: str, params: dict[str, str]
) -> tuple[Any, list[dict[str, str]]]:
    async with api.client() as c:
        as_json = (await c.get(path, params=params)).json()
        r = await c.get(path, params=params, headers={"Accept": "text/csv"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads UTF-8
        linked = await c.get(path, params=params | {"format": "csv"})
        assert linked.content == r.content and "attachment" in linked.headers["content-disposition"]
    return as_json, list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


async def test_csv_downloads_hold_the_same_figures_as_the_json(
    settings: Settings, ref: ReferenceData
) -> None:
    now = int(time.time() * 1000)
    records = [handover(i, now - 7 * HOUR + i * 10 * MINUTE, 10 + (i * 7) % 70) for i in range(30)]
    async with running_api(settings) as api, running_worker(settings):
        await push(api, records)
        await wake_every_service(api, ref, now)
        await caught_up(settings)

        body, rows = await both(api, "/v1/series", {"metric": "handover.mean_minutes",
                                                    "scope": "org/RX9", "spc": "true"})  # fmt: skip
        assert len(rows) == len(body["points"]) > 0
        assert any(p["value"] is not None for p in body["points"])
        for row, point in zip(rows, body["points"], strict=True):
            for column in ("start", "end", "value", "complete", "special_cause", "expected",
                           "lower", "upper", "season"):  # fmt: skip
                assert same(row[column], point.get(column)), (column, row, point)
            assert same(row["target"], body["spc"]["target"])
        days = {"spc": "true", "resolution": "day"}
        body, rows = await both(api, "/v1/series", {"metric": "handover.mean_minutes",
                                                    "scope": "org/RX9"} | days)  # fmt: skip
        for row, point in zip(rows, body["points"], strict=True):
            assert same(row["value"], point.get("value")) and same(row["mean"], body["spc"]["mean"])
            assert same(row["upper_limit"], body["spc"]["upper_limit"])

        body, rows = await both(api, "/v1/alerts", {"scope": "national"})
        assert [r["id"] for r in rows] == [g["id"] for g in body["alerts"]] and rows
        for row, g in zip(rows, body["alerts"], strict=True):
            own = next((a for a in g["own"] if a["type"] == "threshold"), {})
            assert row["severity"] == g["severity"] and row["status"] == g["status"]
            assert same(row["value"], own.get("value")) and same(row["line"], own.get("line"))
            assert int(row["breaching_below"]) == len(g["members"])

        body, rows = await both(api, "/v1/freshness", {})
        expected = [(f, r["org"], r["status"], r["last_received_at"])
                    for f, section in body["feeds"].items() for r in section["organisations"]]  # fmt: skip
        got = [(r["feed"], r["org"], r["status"], r["last_received_at"] or None) for r in rows]
        assert got == expected

        body, rows = await both(api, "/v1/league", {"metric": "handover.over_60_pct",
                                                    "kind": "ambulance"})  # fmt: skip
        assert [r["code"] for r in rows] == [u["code"] for u in body["units"]] and rows
        for row, unit in zip(rows, body["units"], strict=True):
            for column in ("value", "numerator", "denominator", "z", "flag"):
                assert same(row[column], unit[column]), (column, row, unit)
            assert same(row["upper998"], unit["limits"]["upper998"])
            assert same(row["unadjusted_upper998"], unit["unadjusted_limits"]["upper998"])
            assert row["flag_unadjusted"] == unit["flag_unadjusted"]
