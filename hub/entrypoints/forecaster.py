"""`hub forecast`: the forecaster, its own process, refreshing every forecast each hour.

Why a process and not a timer in a worker or the API: fitting and backtesting
some 250 series is seconds of pure-Python CPU, which would stall an API
event loop (and its SSE streams) or a worker's consume loop for as long.
One forecaster per deployment is enough; its writes replace whole documents,
so two running by mistake are harmless. It refreshes at start, then just
after each hour turns (once that hour's counts are complete), a minute later
when a refresh found nothing yet, and five minutes later just after it starts and
while history is still arriving (`hub up --history-days` backfilling weeks).
"""

from __future__ import annotations

import asyncio
import logging
import time

from hub.bootstrap import build_forecaster
from hub.domain.errors import Unavailable
from hub.settings import Settings

log = logging.getLogger(__name__)

AFTER_THE_HOUR_S = 90  # let the last records of the hour be applied first
RETRY_S = 60
FILLING_S = 300


def seconds_to_next_run(now_s: float) -> float:
    """Return how long to wait until just after the next hour turns."""
    return 3600 - (now_s % 3600) + AFTER_THE_HOUR_S


def filling_up(before: int | None, now: int, series: int, hours_since: float) -> bool:
    """Say whether history is still arriving: more hours with values than time alone adds.

    Each series gains an hour an hour; a backfill adds days at a time. The first refresh
    after a start counts as filling, so the next comes in minutes, not at the hour.
    """
    if before is None:
        return True
    return now - before > series * (hours_since + 1)


async def run_forecaster(settings: Settings, once: bool = False) -> None:
    """Refresh the forecasts now and then hourly (once: just now) until cancelled."""
    service, close = build_forecaster(settings)
    known: int | None = None
    last = time.monotonic()
    try:
        while True:
            written = 0
            started = time.monotonic()
            try:
                written = await service.refresh()
                log.info("forecast refresh took %.1f s", time.monotonic() - started)
            except Unavailable as exc:
                log.warning("forecasts not refreshed: %s", exc)
            if once:
                return
            hours = (started - last) / 3600
            filling = written > 0 and filling_up(known, service.known_hours, written, hours)
            known, last = (service.known_hours if written else known), started
            wait = RETRY_S if written == 0 else seconds_to_next_run(time.time())
            await asyncio.sleep(min(wait, FILLING_S) if filling else wait)
    finally:
        await close()
