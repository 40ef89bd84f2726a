"""The read model as JSON: the one place figures, their judgement and freshness become bodies.

    hub.domain.figures (ScopeFigures) ──▶ figures_json ──▶ hub.api.caching (body, ETag)
                                                      └──▶ hub.api.sse (`metrics` frames)
    hub.domain.freshness (FreshnessBoard) ──▶ freshness_json (`GET /v1/freshness`)

Times become ISO 8601 here, and only here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.api.json_types import JsonObject, JsonValue
from hub.domain.delays import FeedDelay
from hub.domain.figures import Figure, ScopeFigures
from hub.domain.freshness import FeedFreshness, FreshnessBoard, OrgFreshness
from hub.domain.metrics import Kind
from hub.domain.quality import Quality
from hub.domain.scopes import ScopeRef
from hub.domain.timestamps import format_utc_ms
from hub.domain.triage import Basis


def scope_json(scope: ScopeRef) -> JsonObject:
    return {"type": scope.type, "code": scope.code, "name": scope.name}


def figures_json(figures: ScopeFigures) -> tuple[int, JsonObject]:
    """Return when a scope's figures were computed, and the body of `GET /v1/metrics/{scope}`
    without that instant (`as_of`), which is no part of what they say."""
    metrics: JsonObject = {m: figure_json(f) for m, f in figures.figures.items()}
    return figures.as_of_ms, {"scope": scope_json(figures.scope), "metrics": metrics}


def figure_json(figure: Figure) -> JsonObject:
    """Return one metric's entry: its value (or windows), RAG, what was judged, and quality."""
    reading = figure.reading
    kind = reading.metric.kind
    entry: JsonObject = {"unit": reading.metric.unit}
    if kind is Kind.WINDOW:
        entry["windows"] = dict(reading.windows)
    else:
        entry["value"] = reading.value
    if kind is Kind.SITREP:
        entry["date"] = None if reading.date is None else reading.date.isoformat()
        coverage = reading.coverage
        entry["coverage"] = (
            None
            if coverage is None
            else {"submitted": coverage.submitted, "expected": coverage.expected}
        )
    entry["rag"] = figure.judgement.rag
    if figure.judgement.basis is not None:
        entry["judged"] = basis_json(figure.judgement.basis)
    if figure.quality is not None:
        entry["quality"] = quality_json(figure.quality)
    return entry


def basis_json(basis: Basis) -> JsonObject:
    """Return what a level's rule judged: a share of another metric, or a count per unit."""
    return dict(basis.fields())


def quality_json(quality: Quality) -> JsonObject:
    out: JsonObject = {
        "status": quality.status,
        "live": quality.live,
        "expected": quality.expected,
        "age_minutes": quality.age_minutes,
        "text": quality.text,
    }
    if quality.pending_records is not None:  # delayed: records wait to be applied
        out["pending_records"] = quality.pending_records
        out["oldest_pending_s"] = quality.oldest_pending_s
    return out


def freshness_json(board: FreshnessBoard) -> JsonObject:
    """Return the body of `GET /v1/freshness`."""
    feeds: JsonObject = {name: feed_json(feed) for name, feed in board.feeds.items()}
    return {"as_of": format_utc_ms(board.as_of_ms), "feeds": feeds}


def feed_json(feed: FeedFreshness) -> JsonObject:
    rows: list[JsonValue] = [org_json(row, feed.daily) for row in feed.organisations]
    return {
        "summary": feed.summary(),
        "organisations": rows,
        "application": delay_json(feed.application),
    }


def delay_json(delay: FeedDelay | None) -> JsonObject:
    """Return a feed's records accepted but not yet applied (`application`)."""
    if delay is None:
        return {"pending_records": 0, "oldest_pending_s": None, "delayed": False, "text": None}
    return {
        "pending_records": delay.records,
        "oldest_pending_s": round(delay.oldest_s, 1),
        "delayed": delay.delayed,
        "text": delay.text if delay.delayed else None,
    }


def org_json(row: OrgFreshness, daily: bool) -> JsonObject:
    out: JsonObject = {
        "org": row.org,
        "name": row.name,
        "region": row.region,
        "last_received_at": _iso(row.last_received_ms),
        "last_event_at": _iso(row.last_event_ms),
        "status": row.status,
    }
    if daily:
        out["latest_date"] = None if row.latest_date is None else row.latest_date.isoformat()
    return out


def _iso(at_ms: int | None) -> str | None:
    return None if at_ms is None else format_utc_ms(at_ms)


def page_json(page: dict[str, Any]) -> tuple[int, JsonObject]:
    """Return when an alerts page was computed, and the page without that instant."""
    content: JsonObject = {k: v for k, v in page.items() if k != "as_of"}
    return _ms(page["as_of"]), content


def series_json(body: dict[str, Any]) -> tuple[int, JsonObject]:
    """Return when a series was computed, and its body without that instant."""
    content: JsonObject = {k: v for k, v in body.items() if k != "as_of"}
    return _ms(body["as_of"]), content


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)
