"""`GET /v1/freshness`: for each feed, each expected organisation's last data and status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from hub.domain.feeds import FEEDS, Feed, FeedKind
from hub.domain.freshness import FeedFreshness, FreshnessBoard, OrgFreshness, Seen, status
from hub.domain.metrics import ms
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import org_scope
from hub.ports import StateReader


class FreshnessService:
    def __init__(
        self, ref: ReferenceData, reads: StateReader, clock: Callable[[], datetime]
    ) -> None:
        self._ref = ref
        self._reads = reads
        self._clock = clock

    async def feed(self, feed: Feed, now: datetime) -> FeedFreshness:
        """Return one feed's board: a row per expected organisation."""
        received, events = await self._reads.read_freshness(feed.name)
        orgs = self._ref.with_role(feed.org_role)
        dates: list[date | None] = [None] * len(orgs)
        if feed.kind is FeedKind.SITREP:
            latest = await self._reads.read_sitreps([(feed.name, org_scope(o.code)) for o in orgs])
            dates = [None if row is None else row[0] for row in latest]
        rows = []
        for org, latest_date in zip(orgs, dates, strict=True):
            r, e = received.get(org.code), events.get(org.code)
            seen = Seen(None if r is None else int(r), None if e is None else int(e), latest_date)
            rows.append(
                OrgFreshness(
                    org.code,
                    org.name,
                    org.region,
                    status(feed, seen, now),
                    seen.last_received_ms,
                    seen.last_event_ms,
                    latest_date,
                )
            )
        return FeedFreshness.of(feed, tuple(rows))

    async def board(self) -> FreshnessBoard:
        """Return every feed's board (`GET /v1/freshness`)."""
        now = self._clock()
        feeds = {name: await self.feed(feed, now) for name, feed in FEEDS.items()}
        return FreshnessBoard(ms(now), feeds)
