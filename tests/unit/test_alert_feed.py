"""Alert streams: one computation per page per round for every viewer, the live streams' caps,
bounded queues, and a round that hangs told to viewers rather than left silent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub.domain.errors import CallerLimitReached, ProcessLimitReached, StateUnavailable
from hub.domain.scopes import ScopeRef
from hub.services.acks import ALERTS_NOTICE, NOTES_NOTICE
from hub.services.alert_feed import AlertFeed
from hub.services.events import (
    DROPPED,
    AlertsChanged,
    Event,
    FiguresUnavailable,
    NotesAdded,
)
from hub.services.stream_limits import StreamLimits
from tests.unit.test_live_feed import NATIONAL, Telemetry

pytestmark = pytest.mark.timeout(10)
LONDON = ScopeRef("region", "Y56", "London")


class Pages:
    """Alerts per page: a count of computations, a switch to fail, one to hang."""

    def __init__(self) -> None:
        self.alerts: dict[str, list[str]] = {}
        self.computed: list[list[str]] = []
        self.fail = False
        self.hang = False

    async def pages(self, roots: list[ScopeRef]) -> list[dict[str, Any]]:
        self.computed.append([r.key for r in roots])
        if self.fail:
            raise StateUnavailable("Redis did not answer")
        if self.hang:
            await asyncio.Event().wait()
        return [
            {
                "as_of": f"t{len(self.computed)}",
                "scope": r.key,
                "alerts": self.alerts.get(r.key, []),
            }
            for r in roots
        ]


class Notices:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def version(self, key: str) -> int:
        return self.counts.get(key, 0)

    def notice(self, key: str) -> None:
        self.counts[key] = self.version(key) + 1


def alert_feed(
    pages: Pages,
    notices: Notices | None = None,
    telemetry: Telemetry | None = None,
    limits: StreamLimits | None = None,
    queue: int = 8,
    deadline_s: float = 5.0,
) -> AlertFeed:
    return AlertFeed(
        pages,
        notices or Notices(),
        limits or StreamLimits(500, 10),
        telemetry or Telemetry(),
        queue,
        lambda: 0,
        min_interval_s=0.0,
        deadline_s=deadline_s,
    )


def event(events: list[Event] | None) -> tuple[str, Any]:
    """Return the name and data of the one event queued, as its frame would carry them."""
    assert events is not None and len(events) == 1, events
    (queued,) = events
    if isinstance(queued, AlertsChanged):
        return "alerts", queued.snapshot.value
    if isinstance(queued, FiguresUnavailable):
        return "unavailable", {"detail": queued.detail}
    assert isinstance(queued, NotesAdded), queued
    return "notes", {}


async def test_every_viewer_of_a_page_gets_the_same_frame_from_one_computation() -> None:
    pages = Pages()
    feed = alert_feed(pages)
    viewers = [feed.open(NATIONAL, None) for _ in range(50)] + [feed.open(LONDON, None)]
    pages.alerts["national"] = ["a"]
    await feed.round()
    assert pages.computed == [["national", "region/Y56"]]  # once per page, not per viewer
    got = [await v.next(1) for v in viewers[:50]]
    assert len({id(events[0]) for events in got if events}) == 1  # one event for every viewer
    name, data = event(got[0])
    assert name == "alerts" and data["alerts"] == ["a"]
    assert event(await viewers[50].next(1))[1]["scope"] == "region/Y56"


async def test_unchanged_alerts_are_not_sent_again_though_their_time_moves_on() -> None:
    pages = Pages()
    feed = alert_feed(pages)
    viewer = feed.open(NATIONAL, None)
    await feed.round()
    assert await viewer.next(1) is not None
    await feed.round()  # as_of differs, the alerts do not
    assert await viewer.next(0.01) is None
    pages.alerts["national"] = ["b"]
    await feed.round()
    assert event(await viewer.next(1))[1]["alerts"] == ["b"]


async def test_a_new_viewer_of_a_watched_page_gets_its_alerts_at_once() -> None:
    feed = alert_feed(Pages())
    feed.open(NATIONAL, None)
    await feed.round()
    late = feed.open(NATIONAL, None)
    await feed.welcome(late)
    assert event(await late.next(0.01))[0] == "alerts"


async def test_a_note_added_is_one_notes_event_for_every_viewer_and_only_notes_from_now() -> None:
    notices = Notices()
    notices.notice(NOTES_NOTICE)  # a note added before anyone connected
    feed = alert_feed(Pages(), notices)
    viewer = feed.open(NATIONAL, None)
    await feed.round()
    assert event(await viewer.next(1))[0] == "alerts"
    assert await viewer.next(0.01) is None  # the old note is not news to this viewer
    notices.notice(NOTES_NOTICE)
    await feed.round()
    assert event(await viewer.next(1)) == ("notes", {})


async def rounds_reach(feed: AlertFeed, n: int) -> None:
    for _ in range(500):  # bounded: the pump ticks every 10 ms
        if feed.rounds >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{feed.rounds} rounds, not {n}")


async def test_a_new_page_and_an_acknowledgement_notice_each_start_a_round_at_once() -> None:
    notices = Notices()
    feed = AlertFeed(
        Pages(), notices, StreamLimits(5, 5), Telemetry(), 8, lambda: 0,
        min_interval_s=0.0, refresh_s=3600.0, tick_s=0.01,
    )  # fmt: skip
    feed.start()
    try:
        viewer = feed.open(NATIONAL, None)
        await rounds_reach(feed, 1)  # not an hour later: a page nobody watched yet
        assert event(await viewer.next(1))[0] == "alerts"
        notices.notice(ALERTS_NOTICE)  # someone acknowledged an alert
        await rounds_reach(feed, 2)
    finally:
        await feed.stop()


async def test_alert_streams_count_towards_the_live_streams_caps() -> None:
    limits, telemetry = StreamLimits(per_process=3, per_token=2), Telemetry()
    feed = alert_feed(Pages(), telemetry=telemetry, limits=limits)
    limits.acquire("t1")  # a live stream of token t1, held elsewhere in this process
    feed.open(NATIONAL, "t1")
    with pytest.raises(CallerLimitReached):
        feed.open(NATIONAL, "t1")
    held = feed.open(LONDON, None)
    with pytest.raises(ProcessLimitReached):
        feed.open(NATIONAL, "t2")
    assert telemetry.counts["refused:token"] == 1 and telemetry.counts["refused:process"] == 1
    feed.close(held)
    feed.close(held)  # idempotent: the place is freed once
    assert limits.open == 2
    feed.open(NATIONAL, "t2")


async def test_a_viewer_that_falls_behind_is_dropped_not_buffered() -> None:
    pages, telemetry = Pages(), Telemetry()
    feed = alert_feed(pages, telemetry=telemetry, queue=2)
    viewer = feed.open(NATIONAL, None)
    for n in range(4):
        pages.alerts["national"] = [str(n)]
        await feed.round()
    assert await viewer.next(1) == [DROPPED]
    feed.close(viewer)
    assert telemetry.counts["dropped"] == 1 and feed.viewers == 0


async def test_a_round_that_fails_or_hangs_says_unavailable_then_resends_when_back() -> None:
    pages = Pages()
    feed = alert_feed(pages, deadline_s=0.05)
    viewer = feed.open(NATIONAL, None)
    await feed.round()
    assert event(await viewer.next(1))[0] == "alerts"
    pages.hang = True
    await asyncio.wait_for(feed.round(), 5)  # bounded by the deadline, not left hanging
    assert event(await viewer.next(1))[0] == "unavailable"
    pages.hang, pages.fail = False, True
    await feed.round()
    assert await viewer.next(0.01) is None  # said once
    pages.fail = False
    await feed.round()
    assert event(await viewer.next(1))[0] == "alerts"  # resent though unchanged
