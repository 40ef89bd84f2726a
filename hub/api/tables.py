"""The API's tables as CSV: series, alerts, feed freshness and the league (issue 15).

A caller asks with `Accept: text/csv` or `?format=csv` (a download link
cannot set a header). Numbers are written exactly as the JSON holds them, so
a spreadsheet shows the API's own figures; an empty cell is a null. Text
that a spreadsheet would run as a formula (=, +, -, @) is quoted with a
leading apostrophe. The file starts with a UTF-8 byte-order mark so Excel
reads names such as "St George's" and "–" correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.api.render import org_json
from hub.api.render_intel import pct
from hub.domain.freshness import FreshnessBoard
from hub.services.league import League

CSV_TYPE = "text/csv; charset=utf-8"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def wants_csv(request: Request) -> bool:
    """Say whether the caller asked for CSV: `?format=csv`, or text/csv before JSON in Accept."""
    if request.query_params.get("format", "").lower() == "csv":
        return True
    accept = [part.split(";")[0].strip() for part in request.headers.get("accept", "").split(",")]
    return bool(accept) and accept[0] in ("text/csv", "text/*")


def cell(value: Any) -> Any:
    """Return a value as a CSV cell: numbers as they are, booleans as words, text made safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], name: str) -> Response:
    """Return a CSV download of `rows` under `header`, named `name`.csv."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return Response(
        "\ufeff" + buffer.getvalue(),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{_safe(name)}.csv"'},
    )


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in name)


SERIES_COLUMNS = ["start", "end", "date", "value", "complete"]
SPC_POINT_COLUMNS = ["special_cause", "kind", "side"]
SPC_LINES = ["mean", "upper_limit", "lower_limit", "target"]
# An hourly chart's lines are each hour's own: its expected value and band.
SEASONAL_COLUMNS = ["expected", "lower", "upper", "season"]


def series_csv(body: dict[str, Any]) -> Response:
    """`GET /v1/series` as CSV: one row per period, with SPC flags and lines when asked for."""
    spc = body.get("spc")
    seasonal = spc is not None and spc.get("chart") == "seasonal"
    header = ["metric", "scope", "resolution", *SERIES_COLUMNS, "coverage_submitted"]
    header += ["coverage_expected"]
    if spc is not None:
        header += SPC_POINT_COLUMNS + ([*SEASONAL_COLUMNS, "target"] if seasonal else SPC_LINES)
    scope = _scope_key(body["scope"])
    rows = []
    for p in body["points"]:
        coverage = p.get("coverage") or {}
        row = [body["metric"], scope, body["resolution"], *(p.get(c) for c in SERIES_COLUMNS)]
        row += [coverage.get("submitted"), coverage.get("expected")]
        if spc is not None:
            row += [p.get(c) for c in SPC_POINT_COLUMNS]
            if seasonal:
                row += [p.get(c) for c in SEASONAL_COLUMNS] + [spc.get("target")]
            else:
                row += [spc.get(c) for c in SPC_LINES]
        rows.append(row)
    return csv_response(header, rows, f"series-{body['metric']}-{scope}")


ALERT_COLUMNS = [
    "id", "severity", "status", "since", "types", "subject", "title", "scope",
    "value", "unit", "line", "breaching_below", "members",
    "acknowledged_by", "acknowledged_at", "acknowledgement_note",
]  # fmt: skip


def alerts_csv(body: dict[str, Any]) -> Response:
    """`GET /v1/alerts` as CSV: one row per alert group, its members' scopes listed."""
    rows = [_alert_row(g) for g in body["alerts"]]
    return csv_response(ALERT_COLUMNS, rows, f"alerts-{_scope_key(body['scope'])}")


def _alert_row(g: dict[str, Any]) -> list[Any]:
    own: dict[str, Any] = next((a for a in g["own"] if a["type"] == "threshold"), {})
    ack = g.get("ack") or {}
    members = [_scope_key(m["scope"]) for m in g["members"]]
    return [
        g["id"], g["severity"], g.get("status"), g.get("since"), " ".join(g["types"]),
        g.get("metric") or g.get("feed"), g["title"], _scope_key(g["scope"]),
        own.get("value"), own.get("unit"), own.get("line"), len(members), " ".join(members),
        ack.get("by"), ack.get("at"), ack.get("note"),
    ]  # fmt: skip


FRESHNESS_COLUMNS = [
    "feed", "org", "name", "region", "status", "last_received_at", "last_event_at", "latest_date",
]  # fmt: skip


def freshness_csv(board: FreshnessBoard) -> Response:
    """`GET /v1/freshness` as CSV: one row per feed and organisation, as the JSON has them."""
    rows = []
    for feed, org in board.rows():
        row = org_json(org, daily=True)
        rows.append([feed, *(row.get(c) for c in FRESHNESS_COLUMNS[1:])])
    return csv_response(FRESHNESS_COLUMNS, rows, "freshness")


LIMITS = ["lower95", "upper95", "lower998", "upper998"]
UNADJUSTED = [f"unadjusted_{k}" for k in LIMITS]
LEAGUE_COLUMNS = ["code", "name", "value", "numerator", "denominator", "z", *LIMITS, "flag",
                  *UNADJUSTED, "flag_unadjusted", "marked"]  # fmt: skip


def league_csv(league: League) -> Response:
    """`GET /v1/league` as CSV: one row per organisation, by name, with both sets of limits."""
    names = league.names
    rows = [
        [p.unit.code, names[p.unit.code], pct(p.proportion), p.unit.numerator]
        + [p.unit.denominator, round(p.z, 4)]
        + [pct(getattr(p.limits, k)) for k in LIMITS]
        + [p.flag]
        + [pct(getattr(p.unadjusted or p.limits, k)) for k in LIMITS]
        + [p.flag_unadjusted, p.marked]
        for p in sorted(league.funnel.units, key=lambda p: names[p.unit.code])
    ]
    return csv_response(LEAGUE_COLUMNS, rows, f"league-{league.metric.id}-{league.window}")


def _scope_key(scope: dict[str, Any]) -> str:
    return "national" if scope["code"] is None else f"{scope['type']}/{scope['code']}"
