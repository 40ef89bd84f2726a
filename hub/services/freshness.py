"""`GET /v1/freshness`: for each feed, each expected organisation's last data and status.

Each feed also says how far application lags acceptance: records it received
that the figures do not count yet (`hub.services.apply_delay`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from hub.domain.feeds import FEEDS, Feed, FeedKind
from hub.domain.freshness import FeedFreshness, FreshnessBoard, OrgFreshness, Seen, status
from hub.domain.metrics import ms
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import org_scope
from hub.ports import StateReader
from hub.services.apply_delay import ApplyDelay


class FreshnessService:
    def __init__(
        self,
        ref: ReferenceData,
        reads: StateReader,
        clock: Callable[[], datetime],
        delays: ApplyDelay | None = None,
    ) -> None:
        self._ref = ref
        self._reads = reads
        self._clock = clock
        self.delays = delays  # records accepted but not yet applied, per feed

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
        """Return every feed's board (`GET /v1/freshness`), with its records waiting."""
        now = self._clock()
        delays = {} if self.delays is None else await self.delays.by_feed()
        feeds = {}
        for name, feed in FEEDS.items():
            board = await self.feed(feed, now)
            feeds[name] = board.waiting(delays.get(name))
        return FreshnessBoard(ms(now), feeds)
