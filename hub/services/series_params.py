"""Read the query parameters of `GET /v1/series` into a request, naming any bad parameter.

metric=handover.mean_minutes   a window or SitRep metric of the catalogue (gauges have no history)
scope=org/RWE                  default national
resolution=hour|day            default hour; SitRep metrics are daily only
from=, to=                     ISO 8601 timestamps or dates (London midnight); default the
                               last 24 hours (hourly) or 30 days (daily), ending now
spc=true|false                 add Making Data Count limits, flags and icons
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from hub.domain.errors import FieldError, NotFound, ValidationFailed
from hub.domain.metrics import CATALOGUE, Kind, Metric
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import ScopeRef, resolve
from hub.domain.timestamps import LONDON, TimestampError, parse_date, parse_timestamp
from hub.domain.windows import DAY_MS, HOUR_MS, HOURLY_KEPT_DAYS, Resolution, day_number

RESOLUTIONS = {"hour": Resolution.HOUR, "day": Resolution.DAY}
DEFAULT_SPAN_MS = {Resolution.HOUR: 24 * HOUR_MS, Resolution.DAY: 30 * DAY_MS}
# How far back each resolution is kept (SPEC §4): 35 days of hours, 400 of days.
KEPT_MS = {Resolution.HOUR: HOURLY_KEPT_DAYS * DAY_MS, Resolution.DAY: 400 * DAY_MS}
TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}


@dataclass(frozen=True, slots=True)
class SeriesRequest:
    """A checked series request: which buckets (numbers, inclusive) of which metric and scope."""

    metric: Metric
    scope: ScopeRef
    resolution: Resolution
    first: int
    last: int
    spc: bool


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", (FieldError(field, message),))


def _metric(raw: str | None) -> Metric:
    if not raw:
        raise _bad("metric", "is required, e.g. metric=handover.mean_minutes")
    metric = CATALOGUE.get(raw)
    if metric is None:
        raise _bad("metric", f"{raw!r} is not a metric in the catalogue")
    if metric.kind is Kind.GAUGE:
        raise _bad("metric", f"{raw} is a gauge (a value now) and has no series")
    return metric


def _scope(ref: ReferenceData, raw: str, metric: Metric) -> ScopeRef:
    try:
        scope = resolve(ref, raw)
    except NotFound as exc:
        known = "national, region/…, org/… or site/…"
        raise _bad("scope", f"{raw!r} is not a known scope ({known})") from exc
    roles = ref.organisations[scope.code].roles if scope.type == "org" and scope.code else ()
    if not metric.applies_to(scope.type, roles):
        raise _bad("metric", f"{metric.id} is not reported for {scope.key}")
    return scope


def _resolution(raw: str | None, metric: Metric) -> Resolution:
    name = raw or ("day" if metric.kind is Kind.SITREP else "hour")
    if name not in RESOLUTIONS:
        raise _bad("resolution", f"{name!r} must be hour or day")
    if metric.kind is Kind.SITREP and name == "hour":
        raise _bad("resolution", f"{metric.id} is a daily SitRep metric: use resolution=day")
    return RESOLUTIONS[name]


def _instant(field: str, raw: str) -> int:
    try:
        if len(raw) == 10:
            day = parse_date(raw)
            return int(datetime(day.year, day.month, day.day, tzinfo=LONDON).timestamp() * 1000)
        return int(parse_timestamp(raw).timestamp() * 1000)
    except TimestampError as exc:
        raise _bad(field, str(exc)) from exc


def _flag(raw: str | None) -> bool:
    value = (raw or "").lower()
    if value not in TRUE | FALSE:
        raise _bad("spc", f"{raw!r} must be true or false")
    return value in TRUE


def _bucket(resolution: Resolution, at_ms: int) -> int:
    return at_ms // HOUR_MS if resolution is Resolution.HOUR else day_number(at_ms)


def parse(params: Mapping[str, str], ref: ReferenceData, now_ms: int) -> SeriesRequest:
    """Return the request `params` describe, or raise ValidationFailed naming the parameter."""
    metric = _metric(params.get("metric"))
    scope = _scope(ref, params.get("scope") or "national", metric)
    resolution = _resolution(params.get("resolution"), metric)
    to = min(now_ms, _instant("to", params["to"])) if params.get("to") else now_ms
    start = (
        _instant("from", params["from"]) if params.get("from") else to - DEFAULT_SPAN_MS[resolution]
    )
    if start >= to:
        raise _bad("from", "must be before to (and before now)")
    # One period of slack, so a client whose clock runs a little behind can ask for all of it.
    period = HOUR_MS if resolution is Resolution.HOUR else DAY_MS
    oldest = _bucket(resolution, now_ms - KEPT_MS[resolution] - period)
    first = _bucket(resolution, start)
    if first < oldest:
        hourly = f"hourly series for {HOURLY_KEPT_DAYS}"
        kept = hourly if resolution is Resolution.HOUR else "daily for 400"
        raise _bad("from", f"is too long ago: the hub keeps {kept} days")
    # Half-open [from, to): the bucket holding `to` counts only if `to` is inside it.
    last = _bucket(resolution, to - 1)
    return SeriesRequest(metric, scope, resolution, first, last, _flag(params.get("spc")))
