"""Notes on a figure: a scope, optionally a metric, and the time they are about (issue 15).

"ED IT outage 14:00–15:30" on a trust's four-hour chart, "divert agreed" on a
region: written by a named viewer, kept durably outside the serving state,
and shown on trend charts and tiles. Every screen hears of a new note at once
through the live channel.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from hub.domain.errors import FieldError, ValidationFailed
from hub.domain.metrics import CATALOGUE
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import resolve
from hub.domain.timestamps import TimestampError, format_utc_ms, parse_timestamp
from hub.ports import AnnotationStore, LivePublisher
from hub.services.acks import NOTES_NOTICE, check_note
from hub.services.tokens import Principal

DAY_MS = 86_400_000
DEFAULT_DAYS = 7
MAX_LIMIT = 500
FUTURE_MS = 5 * 60_000


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, (FieldError(field, message),))


class AnnotationService:
    def __init__(
        self,
        ref: ReferenceData,
        store: AnnotationStore,
        live: LivePublisher,
        clock_ms: Callable[[], int],
    ) -> None:
        self._ref = ref
        self._store = store
        self._live = live
        self._clock_ms = clock_ms

    async def add(self, doc: Mapping[str, Any], who: Principal, name: str) -> dict[str, Any]:
        """Store a note from `who` about a scope (and metric) at a time; return it."""
        now = self._clock_ms()
        scope = doc.get("scope")
        if not isinstance(scope, str):
            raise _invalid("scope", "scope is required, e.g. 'org/RWE' or 'national'")
        key = resolve(self._ref, scope).key
        metric = doc.get("metric")
        if metric is not None and metric not in CATALOGUE:
            raise _invalid("metric", f"{metric!r} is not a metric in the catalogue")
        at = self._instant(doc.get("at"), "at", now)
        until = None if doc.get("until") is None else self._instant(doc["until"], "until", now)
        if until is not None and until < at:
            raise _invalid("until", "until must not be before at")
        note = {
            "id": secrets.token_hex(8),
            "scope": key,
            "metric": metric,
            "at": format_utc_ms(at),
            "at_ms": at,
            "until": None if until is None else format_utc_ms(until),
            "text": check_note(doc.get("text"), "text", required=True),
            "by": name,
            "job_role": who.job_role,
            "org": who.org,
            "created_at": format_utc_ms(now),
        }
        await self._store.add(note)
        await self._live.publish([NOTES_NOTICE, key])
        return note

    def _instant(self, raw: Any, field: str, now: int) -> int:
        if raw is None:
            return now
        if not isinstance(raw, str):
            raise _invalid(field, f"{field} must be an ISO 8601 timestamp")
        try:
            at = int(parse_timestamp(raw).timestamp() * 1000)
        except TimestampError as exc:
            raise _invalid(field, f"{field}: {exc}") from exc
        if at > now + FUTURE_MS:
            raise _invalid(field, f"{field} is more than 5 minutes in the future")
        return at

    async def find(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Return the body of `GET /v1/annotations`: notes by scope, metric and time, newest first."""
        now = self._clock_ms()
        scope = params.get("scope")
        key = None if not scope else resolve(self._ref, scope).key
        metric = params.get("metric") or None
        to = self._bound(params.get("to"), "to", now + FUTURE_MS)
        start = self._bound(params.get("from"), "from", to - DEFAULT_DAYS * DAY_MS)
        limit = self._limit(params.get("limit"))
        # Read more than `limit` when filtering, so a busy scope elsewhere does not crowd out ours.
        found = await self._store.between(start, to, MAX_LIMIT * 4 if key or metric else limit)
        notes = [
            n
            for n in found
            if (key is None or n["scope"] == key) and (metric is None or n["metric"] == metric)
        ]
        return {"from": format_utc_ms(start), "to": format_utc_ms(to), "annotations": notes[:limit]}

    def _bound(self, raw: str | None, field: str, default: int) -> int:
        if not raw:
            return default
        try:
            return int(parse_timestamp(raw).timestamp() * 1000)
        except TimestampError as exc:
            raise _invalid(field, f"{field}: {exc}") from exc

    @staticmethod
    def _limit(raw: str | None) -> int:
        if raw is None:
            return 100
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise _invalid("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
        return int(raw)
