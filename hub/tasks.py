"""Stopping background tasks in bounded time: cancel, wait a moment, cancel again.

A task can miss a cancellation: in Python 3.11 `asyncio.wait_for` drops one that arrives just
as the awaited call completes (bpo-42130), and code that catches a timeout and loops can do
the same. Cancelling once and then awaiting such a task hangs shutdown for ever; under a
loaded test run it hung `hub serve`'s shutdown past the harness's 15 s. This never waits
longer than `attempts × wait_s`, and names any task that still would not stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


async def stop_tasks(
    tasks: Iterable[asyncio.Task[object]], *, attempts: int = 20, wait_s: float = 0.25
) -> list[asyncio.Task[object]]:
    """Cancel `tasks` until they have ended; return any that outlasted every attempt."""
    every = list(tasks)
    pending = {t for t in every if not t.done()}
    for _ in range(attempts):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=wait_s)
    for task in every:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("background task %s had failed", task.get_name(), exc_info=task.exception())
    for task in pending:
        log.error("background task %s did not stop when cancelled", task.get_name())
    return sorted(pending, key=lambda t: t.get_name())
