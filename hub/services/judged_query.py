"""Metrics bodies judged per scope level and checked against the freshness of their inputs.

`QueryService` computes each scope's figures; this subclass re-judges each
entry's RAG by its scope level's rule (`hub.domain.triage`: shares and
per-unit counts) and marks a figure whose inputs are late, stale or missing,
or whose feed's accepted records wait to be applied (`hub.domain.quality`),
turning its RAG `unknown` rather than leaving it silently green. Everything that reads figures (pages, the live stream,
alerts, `/metrics`) goes through `many()`, so all of them agree. The
freshness board is read at most every `freshness_ttl_s` seconds, shared by
every caller: a feed's status moves on a scale of minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from hub.domain.delays import FeedDelay
from hub.domain.metrics import CATALOGUE
from hub.domain.orgs import ReferenceData
from hub.domain.quality import RAG_UNKNOWN, assess, feed_of, input_orgs, with_delay
from hub.domain.rag import Threshold
from hub.domain.scopes import ScopeRef
from hub.domain.triage import ScopedThresholds, judge, units_in
from hub.ports import StateStore
from hub.services.freshness import FreshnessService
from hub.services.query import QueryService

Rows = dict[str, dict[str, dict[str, Any]]]  # feed -> org -> freshness row
Delays = dict[str, FeedDelay]  # feed -> its records waiting to be applied, when past the limit


class JudgedQuery(QueryService):
    """Serve metrics bodies whose RAG follows the scope level's rule and the inputs' freshness."""

    def __init__(
        self,
        ref: ReferenceData,
        store: StateStore,
        thresholds: dict[str, Threshold],
        clock_ms: Callable[[], int],
        scoped: ScopedThresholds,
        freshness: FreshnessService,
        freshness_ttl_s: float = 2.0,
        timer: Callable[[], float] = time.monotonic,
        over_lines: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(ref, store, thresholds, clock_ms, over_lines)
        self._reference = ref
        self._now_ms = clock_ms
        self._scoped = scoped
        self._freshness = freshness
        self._ttl_s = freshness_ttl_s
        self._timer = timer
        self._rows: tuple[float, Rows, Delays] | None = None
        self._lock = asyncio.Lock()
        self._inputs: dict[tuple[str, str], list[str]] = {}
        self._units: dict[tuple[str, str], int] = {}

    async def many(
        self, scopes: Sequence[ScopeRef], now_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """Return each scope's metrics body, judged and marked with the inputs' freshness."""
        now = self._now_ms() if now_ms is None else now_ms
        bodies = await super().many(scopes, now)
        rows, delays = await self._freshness_rows()
        return [
            self._judged(scope, body, rows, delays, now)
            for scope, body in zip(scopes, bodies, strict=True)
        ]

    def _judged(
        self, scope: ScopeRef, body: dict[str, Any], rows: Rows, delays: Delays, now: int
    ) -> dict[str, Any]:
        entries: dict[str, dict[str, Any]] = body["metrics"]
        out: dict[str, dict[str, Any]] = {}
        for metric_id, raw in entries.items():
            entry = {k: v for k, v in raw.items() if k not in ("judged", "quality")}
            rule = self._scoped.rule(metric_id, scope.type)
            per = None if rule is None else rule.per
            units = 0 if per is None else self._units_in(scope, per)
            verdict = judge(rule, entry, entries, units)
            entry["rag"] = verdict.rag
            if verdict.basis is not None:
                entry["judged"] = verdict.basis
            feed = feed_of(CATALOGUE[metric_id])
            inputs = self._inputs_of(scope, feed)
            quality = assess(rows.get(feed, {}), inputs, feed, now)
            if feed in delays:
                quality = with_delay(quality, delays[feed], len(inputs))
            if quality is not None:
                entry["quality"] = quality.as_dict()
                if quality.unknown and rule is not None:  # a line exists; the figure is unreliable
                    entry["rag"] = RAG_UNKNOWN
            out[metric_id] = entry
        return {**body, "metrics": out}

    def _inputs_of(self, scope: ScopeRef, feed: str) -> list[str]:
        key = (scope.key, feed)
        if key not in self._inputs:
            self._inputs[key] = input_orgs(self._reference, scope, feed)
        return self._inputs[key]

    def _units_in(self, scope: ScopeRef, per: str) -> int:
        key = (scope.key, per)
        if key not in self._units:
            self._units[key] = units_in(self._reference, scope, per)
        return self._units[key]

    async def _freshness_rows(self) -> tuple[Rows, Delays]:
        """Return every feed's freshness by organisation, and the delayed feeds (once per ttl)."""
        async with self._lock:
            if self._rows is None or self._timer() - self._rows[0] >= self._ttl_s:
                board = await self._freshness.board()
                self._rows = (self._timer(), _by_org(board), _delayed(board))
            return self._rows[1], self._rows[2]


def _by_org(board: dict[str, Any]) -> Rows:
    out: Rows = {}
    for feed, section in board["feeds"].items():
        out[feed] = {
            row["org"]: {
                "status": row["status"],
                "latest_date": row.get("latest_date"),
                "last_received_ms": _ms(row["last_received_at"]),
            }
            for row in section["organisations"]
        }
    return out


def _delayed(board: dict[str, Any]) -> Delays:
    out: Delays = {}
    for feed, section in board["feeds"].items():
        waiting = section.get("application") or {}
        if waiting.get("delayed"):
            out[feed] = FeedDelay(
                feed, waiting["pending_records"], waiting["oldest_pending_s"], True
            )
    return out


def _ms(iso: str | None) -> int | None:
    return None if iso is None else int(datetime.fromisoformat(iso).timestamp() * 1000)
