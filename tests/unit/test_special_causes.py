"""Special-cause alerts: judged in the background once an hour completes, never waited for."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

from hub.domain.local_hours import WEEK
from hub.domain.metrics import Metric
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import ScopeRef
from hub.domain.seasonal_spc import Observation, Scale, seasonal_chart
from hub.domain.spc import Direction
from hub.services.seasonal import Judged
from hub.services.special_causes import LATE_S, SpecialCauses

HOUR_MS = 3_600_000
LAST = 498_732  # the latest complete hour in these tests: Monday 23 November 2026, 12:00 GMT
NOW = (LAST + 1) * HOUR_MS + 60_000


class HeldCharts:
    """Charts whose every hour is 10 but the latest, 40; each call waits for `release`."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0

    async def charts(
        self, pairs: Sequence[tuple[ScopeRef, Sequence[Metric]]], first: int, last: int
    ) -> dict[tuple[str, str], Judged]:
        self.calls += 1
        await self.release.wait()
        hours = list(range(last - 5 * WEEK, last + 1))
        obs = [Observation(10.0 + (h % 2)) for h in hours[:-1]] + [Observation(40.0)]
        chart = seasonal_chart(obs, hours, len(hours) - 1, Scale.COUNT, Direction.NEUTRAL)
        return {(s.key, m.id): Judged(hours[-1:], chart) for s, ms in pairs for m in ms}


async def test_a_page_gets_the_last_judgement_at_once_and_the_next_lands_in_the_background(
    ref: ReferenceData,
) -> None:
    charts = HeldCharts()
    clock = [0.0]
    special = SpecialCauses(ref, cast(Any, charts), [], timer=lambda: clock[0])
    england = [ScopeRef("national", None, "England")]
    try:
        assert await special.latest(england, NOW) == []  # nothing judged yet: nothing waits
        await asyncio.sleep(0)
        assert charts.calls == 1
        charts.release.set()
        for _ in range(100):  # bounded: the judgement is a task on this loop
            if await special.latest(england, NOW):
                break
            await asyncio.sleep(0.01)
        alerts = await special.latest(england, NOW)
        assert {a["metric"] for a in alerts} == {"ed.arrivals", "handover.arrivals",
                                                  "nhs111.calls_received"}  # fmt: skip
        assert all(a["message"] == "Unusually high for a Monday 12:00" for a in alerts)
        calls = charts.calls
        await special.latest(england, NOW)
        assert charts.calls == calls  # judged this hour already
        clock[0] += LATE_S
        await special.latest(england, NOW)
        await asyncio.sleep(0)
        assert charts.calls == calls + 1  # a second look for late records
    finally:
        await special.close()
