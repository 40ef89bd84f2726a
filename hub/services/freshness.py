"""`GET /v1/freshness`: for each feed, each expected organisation's last data and status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from hub.domain.feeds import FEEDS, Feed, FeedKind
from hub.domain.freshness import Seen, status, summary
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import org_scope
from hub.domain.timestamps import format_utc_ms
from hub.ports import StateStore
from hub.services.apply_delay import ApplyDelay


class FreshnessService:
    def __init__(
        self,
        ref: ReferenceData,
        store: StateStore,
        clock: Callable[[], datetime],
        delays: ApplyDelay | None = None,
    ) -> None:
        self._ref = ref
        self._store = store
        self._clock = clock
        self.delays = delays  # records accepted but not yet applied, per feed

    async def feed(self, feed: Feed, now: datetime) -> dict[str, Any]:
        """Return one feed's board: a summary and a row per expected organisation."""
        received, events = await self._store.read_freshness(feed.name)
        orgs = self._ref.with_role(feed.org_role)
        dates: list[Any] = [None] * len(orgs)
        if feed.kind is FeedKind.SITREP:
            dates = await self._store.read_sitreps([(feed.name, org_scope(o.code)) for o in orgs])
        rows = []
        for org, latest in zip(orgs, dates, strict=True):
            r, e = received.get(org.code), events.get(org.code)
            seen = Seen(
                None if r is None else int(r),
                None if e is None else int(e),
                None if latest is None else latest[0],
            )
            row: dict[str, Any] = {
                "org": org.code,
                "name": org.name,
                "region": org.region,
                "last_received_at": (None if r is None else format_utc_ms(r)),
                "last_event_at": (None if e is None else format_utc_ms(e)),
                "status": status(feed, seen, now),
            }
            if feed.kind is FeedKind.SITREP:
                row["latest_date"] = (
                    None if seen.latest_date is None else seen.latest_date.isoformat()
                )
            rows.append(row)
        return {"summary": summary([row["status"] for row in rows]), "organisations": rows}

    async def board(self) -> dict[str, Any]:
        """Return the body of `GET /v1/freshness`: every feed's board.

        Each feed also says how far application lags acceptance: records it
        received that the figures do not count yet (`application`).
        """
        now = self._clock()
        delays = {} if self.delays is None else await self.delays.by_feed()
        feeds = {}
        for name, feed in FEEDS.items():
            section = await self.feed(feed, now)
            delay = delays.get(name)
            section["application"] = dict(NOTHING_WAITING) if delay is None else delay.as_dict()
            feeds[name] = section
        return {"as_of": format_utc_ms(now.timestamp() * 1000), "feeds": feeds}


NOTHING_WAITING = {"pending_records": 0, "oldest_pending_s": None, "delayed": False, "text": None}
