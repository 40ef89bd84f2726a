"""Is a feed arriving? `live`, `late`, `stale` or `never`, per feed and organisation (SPEC §2, §5)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from hub.domain.delays import FeedDelay
from hub.domain.feeds import Feed, FeedKind
from hub.domain.windows import LONDON

LIVE, LATE, STALE, NEVER = "live", "late", "stale", "never"
STATUSES = (LIVE, LATE, STALE, NEVER)


@dataclass(frozen=True, slots=True)
class Seen:
    """What the hub has had from one organisation on one feed."""

    last_received_ms: int | None
    last_event_ms: int | None
    latest_date: date | None = None  # SitReps: the newest date submitted


def continuous_status(feed: Feed, seen: Seen, now_ms: int) -> str:
    """Judge a continuous feed by how long since anything was received."""
    if seen.last_received_ms is None:
        return NEVER
    late, stale = feed.cadence.late_after_minutes, feed.cadence.stale_after_minutes
    assert late is not None and stale is not None
    silent_minutes = (now_ms - seen.last_received_ms) / 60_000
    if silent_minutes <= late:
        return LIVE
    return LATE if silent_minutes <= stale else STALE


def expected_date(due_local: str, now: datetime) -> date:
    """Return the newest SitRep date that should be in by `now` (yesterday's, once due)."""
    local = now.astimezone(LONDON)
    hour, minute = (int(part) for part in due_local.split(":"))
    days_back = 1 if local.time() >= time(hour, minute) else 2
    return local.date() - timedelta(days=days_back)


def daily_status(feed: Feed, seen: Seen, now: datetime) -> str:
    """Judge a daily return by whether the return now due has arrived."""
    if seen.latest_date is None:
        return NEVER
    assert feed.cadence.daily_due_local is not None
    due = expected_date(feed.cadence.daily_due_local, now)
    if seen.latest_date >= due:
        return LIVE
    return LATE if seen.latest_date >= due - timedelta(days=1) else STALE


def status(feed: Feed, seen: Seen, now: datetime) -> str:
    """Return the freshness status of one organisation's feed at `now`."""
    if feed.cadence.daily_due_local is not None:
        return daily_status(feed, seen, now)
    return continuous_status(feed, seen, int(now.timestamp() * 1000))


def summary(statuses: list[str]) -> dict[str, int]:
    """Count statuses, with `expected` the number of organisations expected to send."""
    out = {s: statuses.count(s) for s in STATUSES}
    out["expected"] = len(statuses)
    return out


@dataclass(frozen=True, slots=True)
class OrgFreshness:
    """One organisation's row on one feed's board: what was last had from it, and its status."""

    org: str
    name: str
    region: str
    status: str
    last_received_ms: int | None
    last_event_ms: int | None
    latest_date: date | None = None  # SitReps: the newest date submitted


@dataclass(frozen=True, slots=True)
class FeedFreshness:
    """One feed's board: a row per organisation expected to send it, in reference-data order."""

    feed: str
    daily: bool  # a SitRep: its rows say the latest date submitted
    organisations: tuple[OrgFreshness, ...]
    by_org: dict[str, OrgFreshness] = field(compare=False, repr=False)
    application: FeedDelay | None = None  # records accepted, not yet applied (None: none wait)

    @classmethod
    def of(cls, feed: Feed, rows: tuple[OrgFreshness, ...]) -> FeedFreshness:
        daily = feed.kind is FeedKind.SITREP
        return cls(feed.name, daily, rows, {row.org: row for row in rows})

    def waiting(self, delay: FeedDelay | None) -> FeedFreshness:
        """Return this board with the feed's records waiting to be applied."""
        return replace(self, application=delay)

    def summary(self) -> dict[str, int]:
        return summary([row.status for row in self.organisations])


@dataclass(frozen=True, slots=True)
class FreshnessBoard:
    """Every feed's board at one instant (`GET /v1/freshness`); times stay in ms until rendered."""

    as_of_ms: int
    feeds: dict[str, FeedFreshness]  # by feed name, in the order of the feed catalogue

    def rows(self) -> list[tuple[str, OrgFreshness]]:
        """Return (feed, row) for every organisation on every feed."""
        return [(name, row) for name, feed in self.feeds.items() for row in feed.organisations]
