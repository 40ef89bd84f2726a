"""Live streams: one frame per change for every viewer, bounded queues, caps per process and token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub.domain.errors import CallerLimitReached, ProcessLimitReached, StateUnavailable
from hub.domain.scopes import ScopeRef
from hub.services.events import DROPPED, Event, FiguresChanged, FiguresUnavailable, NotesAdded
from hub.services.live import LiveFeed, Viewer
from hub.services.snapshots import SnapshotCache
from hub.services.stream_limits import StreamLimits

pytestmark = pytest.mark.timeout(10)
NATIONAL = ScopeRef("national", None, "England")
LONDON = ScopeRef("region", "Y56", "London")


class Telemetry:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def opened(self) -> None:
        self._count("opened")

    def closed(self) -> None:
        self._count("closed")

    def refused(self, limit: str) -> None:
        self._count(f"refused:{limit}")

    def dropped(self) -> None:
        self._count("dropped")


class Figures:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.computed = 0
        self.fail = False

    async def compute(self, scopes: list[ScopeRef]) -> list[dict[str, Any]]:
        self.computed += len(scopes)
        if self.fail:
            raise StateUnavailable("Redis did not answer")
        return [{"scope": s.key, "metrics": {"n": self.values.get(s.key, 0)}} for s in scopes]


async def no_notices() -> AsyncIterator[list[str]]:
    await asyncio.Event().wait()
    yield []


def feed(
    figures: Figures,
    telemetry: Telemetry,
    per_process: int = 500,
    per_token: int = 10,
    queue: int = 8,
) -> LiveFeed:
    clock = [0.0]
    snapshots: SnapshotCache[ScopeRef, Any] = SnapshotCache(
        figures.compute, lambda s: s.key, lambda: 0, timer=lambda: clock[0]
    )
    live = LiveFeed(
        snapshots,
        no_notices,
        StreamLimits(per_process, per_token),
        telemetry,
        queue,
        min_interval_s=0.0,
        timer=lambda: clock[0],
    )
    live.clock = clock  # type: ignore[attr-defined]  # the test moves time on
    live.snapshots = snapshots  # type: ignore[attr-defined]
    return live


def body(events: list[Event] | None) -> Any:
    """Return the figures of the one `metrics` event queued."""
    assert events is not None and len(events) == 1
    (event,) = events
    assert isinstance(event, FiguresChanged)
    return event.snapshot.value


async def test_every_viewer_is_offered_the_same_frame_computed_once() -> None:
    figures, telemetry = Figures(), Telemetry()
    live = feed(figures, telemetry)
    viewers = [live.open([NATIONAL, LONDON], None) for _ in range(200)]
    for viewer in viewers:
        await live.welcome(viewer)
    assert figures.computed == 2  # two scopes, whatever the number of viewers
    firsts = [await v.next(1) or [] for v in viewers]
    assert all(isinstance(e, FiguresChanged) for events in firsts for e in events)
    shared = {tuple(id(e.snapshot) for e in events) for events in firsts}  # type: ignore[union-attr]
    assert len(shared) == 1 and len(firsts[0]) == 2  # the same snapshots for all; one write of both
    figures.values["national"] = 5
    live.snapshots.invalidate(["national"])  # type: ignore[attr-defined]
    live._due.add("national")  # what the notice listener does for a watched scope
    await live.broadcast()
    for viewer in viewers:
        assert body(await viewer.next(1))["metrics"] == {"n": 5}
    assert figures.computed == 3


async def test_an_unchanged_scope_is_not_sent_again() -> None:
    figures, telemetry = Figures(), Telemetry()
    live = feed(figures, telemetry)
    viewer = live.open([NATIONAL], None)
    await live.welcome(viewer)
    assert body(await viewer.next(1))["scope"] == "national"
    live.clock[0] += 10  # type: ignore[attr-defined]  # a full refresh of every watched scope
    await live.broadcast()
    assert await viewer.next(0.01) is None  # same figures: nothing to send


async def test_a_viewer_that_falls_behind_is_dropped_not_buffered() -> None:
    figures, telemetry = Figures(), Telemetry()
    live = feed(figures, telemetry, queue=3)
    slow = live.open([NATIONAL], None)
    for n in range(5):
        slow.offer("national", n, NotesAdded())
    assert slow.dropped
    assert await slow.next(1) == [DROPPED]  # what was queued is let go; the stream ends
    live.close(slow)
    live.close(slow)  # closing twice counts once
    assert telemetry.counts == {"opened": 1, "closed": 1, "dropped": 1}
    assert live.viewers == 0


async def test_a_viewer_hears_once_that_figures_are_unavailable_then_gets_them_again() -> None:
    figures, telemetry = Figures(), Telemetry()
    live = feed(figures, telemetry)
    viewer = live.open([NATIONAL], None)
    await live.welcome(viewer)
    await viewer.next(1)
    figures.fail = True
    for _ in range(3):
        live.clock[0] += 10  # type: ignore[attr-defined]
        await live.broadcast()
    assert [type(e) for e in await viewer.next(1) or []] == [FiguresUnavailable]
    assert await viewer.next(0.01) is None  # said once, not on every attempt
    figures.fail = False
    live.clock[0] += 10  # type: ignore[attr-defined]
    await live.broadcast()
    assert body(await viewer.next(1))["scope"] == "national"  # resent though unchanged


async def test_streams_are_capped_per_token_with_429_and_per_process_with_503() -> None:
    figures, telemetry = Figures(), Telemetry()
    live = feed(figures, telemetry, per_process=3, per_token=2)
    held = [live.open([NATIONAL], "t1"), live.open([NATIONAL], "t1")]
    with pytest.raises(CallerLimitReached) as caller:
        live.open([NATIONAL], "t1")
    held.append(live.open([NATIONAL], None))
    with pytest.raises(ProcessLimitReached) as process:
        live.open([NATIONAL], "t2")
    assert caller.value.retry_after_seconds > 0 and process.value.retry_after_seconds > 0
    assert telemetry.counts["refused:token"] == 1 and telemetry.counts["refused:process"] == 1
    live.close(held[0])
    live.open([NATIONAL], "t1")  # a closed stream frees its place
    assert live.viewers == 3


def test_a_viewer_offered_the_version_it_has_gets_nothing() -> None:
    viewer = Viewer([NATIONAL], None, 4)
    viewer.offer("national", 1, NotesAdded())
    viewer.offer("national", 1, NotesAdded())
    viewer.offer("national", 2, NotesAdded())
    assert viewer._queue.qsize() == 2
