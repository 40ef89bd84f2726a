"""A figure whose inputs are late or missing says so, and its RAG is unknown, never green."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from hub.bootstrap import build
from hub.settings import Settings
from tests.harness import caught_up, running_api, running_worker, wait_until
from tests.integration.test_alerts_api import handover, push

pytestmark = pytest.mark.timeout(120)
MINUTE = 60_000


async def test_late_and_missing_inputs_are_said_on_the_figure_and_its_rag_is_unknown(
    settings: Settings,
) -> None:
    now = int(time.time() * 1000)
    async with running_api(settings) as api, running_worker(settings):
        await push(api, [handover(i, now - 50 * MINUTE + i * MINUTE, 12) for i in range(3)])
        await caught_up(settings)

        async def rx9() -> Any:
            async with api.client() as c:
                body = (await c.get("/v1/metrics/org/RX9")).json()["metrics"]
            return body if "quality" not in body["handover.over_60"] else None

        live = await wait_until(rx9)  # freshness is re-read every few seconds
        assert live["handover.over_60"]["rag"] == "green"
        async with api.client() as c:
            silent = (await c.get("/v1/metrics/org/RX6")).json()["metrics"]["handover.over_60"]
            england = (await c.get("/v1/metrics/national")).json()["metrics"]["handover.over_60"]
        assert silent["rag"] == "unknown"  # zero handovers over 60 from a silent feed is not green
        assert silent["quality"]["text"] == "no data received — feed never sent"
        assert england["rag"] == "unknown" and england["quality"]["live"] == 1
        assert england["quality"]["text"].startswith("10 of 11 ambulance services not live")
    later = int(time.time() * 1000) + 47 * MINUTE  # 47 minutes after the records were received
    svc = build(
        settings,
        CollectorRegistry(),
        clock=lambda: datetime.fromtimestamp(later / 1000, tz=UTC),
        clock_ms=lambda: later,
    )
    try:
        (figures,) = await svc.figures.many([svc.figures.resolve("org/RX9")])
    finally:
        await svc.close()
    figure = figures.figures["handover.mean_minutes"]
    assert figure.rag == "unknown" and figure.quality is not None
    assert figure.quality.status == "late"
    assert figure.quality.text == "data 47 min old — feed late"
