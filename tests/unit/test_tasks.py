"""Background tasks stop in bounded time, even ones that miss a cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from hub.tasks import stop_tasks


async def _swallows_cancellations(times: int, ended: list[str]) -> None:
    """Loop like a refresher whose library turned a cancellation into an ordinary return."""
    swallowed = 0
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if swallowed == times:
                ended.append("cancelled")
                raise
            swallowed += 1


async def test_a_task_that_missed_cancellations_is_cancelled_again_until_it_ends() -> None:
    ended: list[str] = []
    task = asyncio.create_task(_swallows_cancellations(3, ended))
    await asyncio.sleep(0)

    left = await asyncio.wait_for(stop_tasks([task], attempts=10, wait_s=0.05), 5)

    assert left == []
    assert task.cancelled()
    assert ended == ["cancelled"]


async def test_a_task_that_never_stops_is_named_and_shutdown_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ended: list[str] = []
    stubborn = asyncio.create_task(_swallows_cancellations(1_000, ended), name="stubborn")
    obedient = asyncio.create_task(asyncio.sleep(10), name="obedient")
    await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR, logger="hub.tasks"):
        left = await asyncio.wait_for(stop_tasks([stubborn, obedient], attempts=3, wait_s=0.02), 5)

    assert left == [stubborn]
    assert obedient.cancelled()
    assert "stubborn did not stop when cancelled" in caplog.text
    stubborn.cancel()  # leave nothing running: it swallows only 1,000 in all
    for _ in range(1_000):
        if stubborn.done():
            break
        stubborn.cancel()
        await asyncio.sleep(0)
    assert stubborn.done()


async def test_a_task_that_had_already_failed_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> None:
        raise RuntimeError("refresh broke")

    task = asyncio.create_task(fails(), name="refresher")
    with contextlib.suppress(RuntimeError):
        await asyncio.wait({task})

    with caplog.at_level(logging.ERROR, logger="hub.tasks"):
        assert await stop_tasks([task]) == []
    assert "refresher had failed" in caplog.text
