"""`hub rebuild` promotes its generation and drops the old one while other processes keep reading:
no read is ever made of half-deleted keys, and no acknowledgement ends because of it.

Readers in other processes cache which generation to read for up to a second, so
without care one reads the old generation while, or after, it is deleted: figures
fall to nothing, alert groups "clear" and their acknowledgements end.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from hub.bootstrap import build
from hub.domain.figures import ScopeFigures
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import ScopeRef, resolve
from hub.services.alerts import AlertsService
from hub.services.container import Services
from hub.services.snapshots import SnapshotCache
from hub.settings import Settings
from streams.rebuild import rebuild
from tests.harness import caught_up, running_api, running_worker, wait_until
from tests.integration.test_acks_api import GROUP, viewer
from tests.integration.test_alerts_api import handover, push, showing, wake_every_service

pytestmark = pytest.mark.timeout(300)
MINUTE = 60_000
SCOPES = ["national", "region/Y60", "org/RX9", "org/RWE", "site/RWEAA"]
READERS = 3  # processes reading at once, each with its own cached generation
AFTER = 30  # reads each reader makes once the old generation is gone


def recomputing_alerts(svc: Services, now: int) -> AlertsService:
    """The reader's alerts, recomputed on every call (no cache to hide a bad read)."""

    async def compute(scopes: list[ScopeRef]) -> list[ScopeFigures]:
        return await svc.figures.many(scopes)

    fresh: SnapshotCache[ScopeRef, ScopeFigures] = SnapshotCache(
        compute, lambda s: s.key, lambda: now, max_age_s=0.0
    )
    return AlertsService(
        svc.ref, fresh, svc.series, svc.freshness, svc.thresholds, lambda: now, svc.acks, ttl_s=0.0
    )


async def hammer(
    svc: Services,
    now: int,
    refs: list[ScopeRef],
    expected: list[ScopeFigures],
    done: asyncio.Event,
) -> tuple[int, list[Any]]:
    """Read figures and alerts until `done`, then AFTER more times; return reads and any wrong."""
    alerts = recomputing_alerts(svc, now)
    wrong: list[Any] = []
    after = 0
    for reads in range(1, 100_000):  # bounded; ends long before on `done`
        got = await svc.figures.many(refs)  # equal when the figures are, whenever computed
        page = await alerts.active("org/RX9")
        if got != expected:
            wrong.append(got)
        if GROUP not in {g["id"] for g in page["alerts"]}:
            wrong.append(f"{GROUP} cleared")
        if done.is_set():
            after += 1
            if after >= AFTER:
                return reads, wrong
        await asyncio.sleep(0)
    raise AssertionError("the rebuild did not end")


async def test_reads_across_a_promotion_never_see_a_half_dropped_generation_nor_end_an_ack(
    settings: Settings, ref: ReferenceData
) -> None:
    now = int(time.time() * 1000)
    async with running_api(settings) as api, running_worker(settings):
        await push(api, [handover(i, now - 90 * MINUTE + i * MINUTE, 70) for i in range(3)])
        # Enough keys that dropping the old generation takes more than one batch (another
        # service's, so RX9's share over 60 minutes stays in breach).
        bulk = [
            handover(100 + i, now - (61 + i) * MINUTE, 5 + i % 40, by="RYA") for i in range(600)
        ]
        await push(api, bulk, org="RYA")
        await wake_every_service(api, ref, now)
        await caught_up(settings)
        await wait_until(lambda: showing(api, GROUP, "org/RX9"))
        async with api.client(await viewer(api)) as jo:
            r = await jo.post(f"/v1/alerts/{GROUP}/ack", json={"note": "divert agreed"})
            assert r.status_code == 201, r.text

    # Each reader is a process of its own, with "now" held still so the figures cannot move.
    readers = [build(settings, CollectorRegistry(), clock_ms=lambda: now) for _ in range(READERS)]
    try:
        refs = [resolve(ref, s) for s in SCOPES]
        expected = await readers[0].figures.many(refs)
        assert any(expected[2].figures["handover.over_60"].reading.windows.values())  # to lose
        done = asyncio.Event()
        tasks = [asyncio.create_task(hammer(r, now, refs, expected, done)) for r in readers]
        result = await rebuild(settings, lambda done, total: None)
        done.set()
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks), 120)
        assert result.dropped_keys > 1_000 and result.generation == 1
        for reads, wrong in outcomes:
            assert reads > AFTER
            assert wrong == [], f"{len(wrong)} of {reads} reads were wrong: {wrong[0]}"
        assert GROUP in await readers[0].acks.in_force()  # still acknowledged
        trail = await readers[0].acks.history(GROUP)
        assert [e["action"] for e in trail] == ["acknowledged"]  # never ended
    finally:
        for reader in readers:
            await reader.close()
