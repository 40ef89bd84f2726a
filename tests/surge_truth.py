"""Run the simulated incidents through an in-memory hub and hold its figures against the truth.

The simulator knows every incident's whole story (when its clock started, when
its response arrived, when it closed) before the hub hears any of it. Pushing
each version when it falls due, and reading the hub at chosen instants, shows
what a control room would have seen then; the story gives what was true then:
who was waiting, for how long, and how long the incidents of the last hours
will in the end have waited. A second hub counts by the old definitions
(responses filed by clock start), for comparison.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.domain.metrics import Params
from hub.domain.orgs import ReferenceData
from hub.simulation.incidents import IncidentSimulator
from hub.simulation.push import Push
from hub.simulation.scenarios import Scenario
from tests.metric_hubs import MemoryHub
from tests.reference import STANDARD_MINUTES, in_window, ms, nearest_rank_p90

HOUR = 3_600_000
CATEGORIES = ("C1", "C2", "C3", "C4")


@dataclass(frozen=True, slots=True)
class Story:
    """One incident's whole story, as the simulator drew it.

    `started`, `reached` and `closed` are the instants things happened (to the
    millisecond); `start` and `arrival` are the times the record carries (to the
    second), from which response times are measured.
    """

    category: str
    org: str
    start: int
    arrival: int | None
    started: int
    reached: int | None
    closed: int | None  # when it closed without a response (hear and treat)


def stories(pushes: list[Push]) -> list[Story]:
    """Return each incident's story from all of its versions."""
    by_id: dict[str, list[Push]] = {}
    for p in pushes:
        by_id.setdefault(p.record["incident_id"], []).append(p)
    out = []
    for versions in by_id.values():
        versions.sort(key=lambda p: p.due_ms)
        last = versions[-1].record
        arrival = last["first_arrival_at"]
        reached = next((p.due_ms for p in versions if p.record["first_arrival_at"]), None)
        closed = None if arrival else next(p.due_ms for p in versions if p.record["outcome"])
        start = ms(last["clock_start_at"])
        arrived = ms(arrival) if arrival else None
        who = (last["category"], last["ambulance_trust"])
        out.append(Story(*who, start, arrived, versions[0].due_ms, reached, closed))
    return out


def truth(all_stories: list[Story], at: int, category: str, org: str | None) -> dict[str, Any]:
    """Return what was true at `at` for a category (in one service, or all of England)."""
    mine = [s for s in all_stories if s.category == category and org in (None, s.org)]
    waiting = [
        s.start
        for s in mine
        if s.started <= at
        and s.start >= at - 24 * HOUR
        and (s.reached is None or s.reached > at)
        and (s.closed is None or s.closed > at)
    ]
    line = STANDARD_MINUTES[int(category[1])] * 60_000
    reached = [
        (s.arrival - s.start) / 1000
        for s in mine
        if s.arrival is not None and s.reached is not None and s.reached <= at
        and in_window(s.arrival, at, 240)
    ]  # fmt: skip
    started = [s for s in mine if at - 4 * HOUR < s.start and s.started <= at and s.closed is None]
    eventual = [((s.arrival or math.inf) - s.start) / 1000 for s in started]
    return {
        "waiting_now": len(waiting),
        "longest_wait_seconds": (at - min(waiting)) / 1000 if waiting else None,
        "over_target_now": sum(at - s > line for s in waiting),
        "p90_reached_4h": nearest_rank_p90(reached),
        "p90_eventual_4h": nearest_rank_p90(eventual),  # of those started, when all are reached
    }


@dataclass
class Run:
    """The incidents of a simulated stretch, applied up to instants in turn, by both definitions."""

    ref: ReferenceData
    pushes: list[Push]
    hub: MemoryHub
    old: MemoryHub
    sent: int = 0

    @classmethod
    def simulate(
        cls, ref: ReferenceData, scenario: Scenario, start: int, end: int, scale: float, seed: int
    ) -> Run:
        sim = IncidentSimulator(ref, random.Random(seed), "truth", scale, scenario)
        pushes = sorted(sim.advance(start, end), key=lambda p: p.due_ms)
        return cls(ref, pushes, MemoryHub(ref), MemoryHub(ref, Params(definitions=1)))

    async def until(self, at: int) -> None:
        """Apply every version due by `at`, as the feed would have delivered it."""
        batch = []
        while self.sent < len(self.pushes) and self.pushes[self.sent].due_ms <= at:
            push = self.pushes[self.sent]
            batch.append((push.record, datetime.fromtimestamp(push.due_ms / 1000, tz=UTC)))
            self.sent += 1
        for hub in (self.hub, self.old) if batch else ():
            await hub.send_many("ambulance-incident", batch)

    async def figures(self, at: int, scope: str) -> dict[str, dict[str, Any]]:
        """Return, per category, the hub's gauges and 4-hour centile, and the old definitions'."""
        now = datetime.fromtimestamp(at / 1000, tz=UTC)
        new, old = await self.hub.served(scope, now), await self.old.served(scope, now)
        out = {}
        for cat in CATEGORIES:
            c = cat.lower()
            out[cat] = {
                part: new[f"ambulance.{c}.{part}"]["value"]
                for part in ("waiting_now", "longest_wait_seconds", "over_target_now")
            }
            out[cat]["p90_4h"] = new[f"ambulance.{c}.p90_seconds"]["windows"]["4h"]
            out[cat]["p90_4h_by_clock_start"] = old[f"ambulance.{c}.p90_seconds"]["windows"]["4h"]
        return out
