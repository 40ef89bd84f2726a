"""Is a figure built on live inputs? The freshness of the feeds behind one scope's metric.

A tile that silently shows green over a feed that stopped an hour ago is worse
than no tile. So each metric entry is checked against the freshness of the
organisations whose feed makes it (issue 15): for a trust or a site, its own
feed; for handovers at an acute trust, the ambulance services of its region
(reference data does not say which service conveys to which hospital); for a
region or England, every organisation of the feed's role within it.

A single input that is not live makes the figure's RAG `unknown`; an
aggregate keeps its RAG while at least `MIN_LIVE_SHARE` of its inputs are
live, and says how many are not. A feed whose accepted records wait to be
applied past the limit (`hub.domain.delays`) makes every figure it feeds
`unknown` too, and says how many records wait and for how long.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hub.domain.delays import FeedDelay
from hub.domain.feeds import FEEDS
from hub.domain.freshness import LATE, LIVE, NEVER, STALE, OrgFreshness
from hub.domain.metrics import Metric
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import ScopeRef

RAG_UNKNOWN = "unknown"
MIN_LIVE_SHARE = 0.75
FEED_BY_FAMILY = {
    "handover": "ambulance-handover",
    "ambulance": "ambulance-incident",
    "nhs111": "nhs111-interval",
    "ed": "ed-attendance",
}
ROLE_NOUNS = {
    "acute": ("acute trust", "acute trusts"),
    "ambulance": ("ambulance service", "ambulance services"),
    "nhs111": ("NHS 111 provider", "NHS 111 providers"),
}


def feed_of(metric: Metric) -> str:
    """Return the feed whose records make `metric`."""
    return metric.sitrep_feed or FEED_BY_FAMILY[metric.id.split(".")[0]]


def input_orgs(ref: ReferenceData, scope: ScopeRef, feed: str) -> list[str]:
    """Return the organisations whose `feed` makes figures of `scope`."""
    role = FEEDS[feed].org_role
    senders = ref.with_role(role)
    if scope.type == "national":
        return [o.code for o in senders]
    if scope.type == "region":
        return [o.code for o in senders if o.region == scope.code]
    assert scope.code is not None
    org = ref.sites[scope.code].trust if scope.type == "site" else scope.code
    if role in ref.organisations[org].roles:
        return [org]
    region = ref.organisations[org].region
    return [o.code for o in senders if o.region == region]


@dataclass(frozen=True, slots=True)
class Quality:
    """How live the inputs of one figure are, in words for its tile."""

    status: str  # live, late, stale, never, partial, or delayed (records wait to be applied)
    live: int
    expected: int
    age_minutes: int | None  # of the oldest input that is not live, when one was ever received
    text: str
    unknown: bool  # the figure's RAG cannot be trusted
    pending_records: int | None = None  # delayed: accepted, not yet applied
    oldest_pending_s: float | None = None  # delayed: how long the oldest of them has waited


def with_delay(quality: Quality | None, delay: FeedDelay, inputs: int) -> Quality:
    """Mark a figure whose feed's accepted records wait to be applied: it cannot be trusted."""
    if quality is None:
        return Quality("delayed", inputs, inputs, None, delay.text, True,
                       delay.records, round(delay.oldest_s, 1))  # fmt: skip
    return Quality(
        "delayed",
        quality.live,
        quality.expected,
        quality.age_minutes,
        f"{delay.text}; {quality.text}",
        True,
        delay.records,
        round(delay.oldest_s, 1),
    )


def assess(
    rows: Mapping[str, OrgFreshness], orgs: list[str], feed: str, now_ms: int
) -> Quality | None:
    """Judge the inputs `orgs` of one feed from freshness rows by org; None when all are live."""
    if not orgs:
        return None
    statuses = [rows[o].status if o in rows else NEVER for o in orgs]
    live = statuses.count(LIVE)
    if live == len(orgs):
        return None
    worst = next(s for s in (STALE, LATE, NEVER) if s in statuses)
    ages = [
        _age_minutes(rows.get(o), now_ms) for o, s in zip(orgs, statuses, strict=True) if s != LIVE
    ]
    known = [a for a in ages if a is not None]
    age = max(known) if known else None
    if len(orgs) == 1:
        return Quality(worst, 0, 1, age, _single_text(worst, age, rows.get(orgs[0])), True)
    noun = ROLE_NOUNS[FEEDS[feed].org_role][1]
    missing = len(orgs) - live
    text = f"{missing} of {len(orgs)} {noun} not live"
    if age is not None:
        text += f"; oldest data {_age_words(age)} old"
    unknown = live < MIN_LIVE_SHARE * len(orgs)
    return Quality(worst if live == 0 else "partial", live, len(orgs), age, text, unknown)


def _age_minutes(row: OrgFreshness | None, now_ms: int) -> int | None:
    received = None if row is None else row.last_received_ms
    return None if received is None else max(0, int((now_ms - received) // 60_000))


def _age_words(minutes: int) -> str:
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def _single_text(status: str, age: int | None, row: OrgFreshness | None) -> str:
    if status == NEVER or age is None:
        return "no data received — feed never sent"
    date = None if row is None else row.latest_date
    if date is not None:
        return f"latest return for {date} — return {status}"
    return f"data {_age_words(age)} old — feed {status}"
