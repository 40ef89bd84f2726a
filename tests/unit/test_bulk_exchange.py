"""Jobs of a bulk rebuild trade bounds without waiting for each other's rounds, and meet at checkpoints."""

from __future__ import annotations

import asyncio
import multiprocessing
from typing import Any

import pytest

from streams.bulk.exchange import Channels, QueueExchange
from streams.bulk.job import Flags
from streams.bulk.merge import BOTTOM

pytestmark = pytest.mark.timeout(30)


def two_jobs() -> tuple[QueueExchange, QueueExchange]:
    ctx = multiprocessing.get_context("spawn")
    channels = Channels([ctx.Queue(), ctx.Queue()], ctx.Queue(), ctx.Queue())
    return QueueExchange(0, channels), QueueExchange(1, channels)


async def swap(job: QueueExchange, low: Any, out: Any = None, flags: Flags | None = None,
               idle: bool = False) -> tuple[list[Any], Any, Flags]:  # fmt: skip
    return await asyncio.wait_for(job.swap(out or {}, low, flags, idle), 10)


async def test_a_job_takes_to_the_bound_another_sent_without_waiting_for_its_next_round() -> None:
    first, second = two_jobs()
    version = (5, 0, 3, "a version the second job holds")

    items, low, _ = await swap(first, (10, 0, 5), {1: [version]}, Flags())
    assert (items, low) == ([], BOTTOM)  # nothing from the second job yet: take nothing

    items, low, _ = await swap(second, (20, 1, 7), idle=True)  # waits only for something to come
    assert (items, low) == ([version], (10, 0, 5))

    # The first job is still in its first round; the second goes on without it,
    # taking again to the bound it has (it cannot go past it, whatever its own).
    items, low, flags = await swap(second, (30, 1, 9))
    assert (items, low, flags) == ([], (10, 0, 5), Flags())

    for _ in range(100):  # until the second's latest message has come through the pipe
        _, low, _ = await swap(first, (40, 0, 8), flags=Flags())
        if low not in (BOTTOM, (20, 1, 7)):  # nothing from it yet, or only its first
            break
        await asyncio.sleep(0.02)
    assert low == (30, 1, 9)  # the latest the second sent, not the one of its first round


async def test_a_checkpoint_brings_both_jobs_to_one_bound_with_job_0s_flags() -> None:
    first, second = two_jobs()
    await swap(first, (10, 0, 5), flags=Flags())
    await swap(second, (50, 1, 2), idle=True)

    called = Flags(checkpoint=True)
    (_, at_first, flags_first), (_, at_second, flags_second) = await asyncio.gather(
        swap(first, (60, 0, 9), flags=called),
        swap(second, (55, 1, 4), idle=True),
    )
    assert at_first == at_second == (55, 1, 4)  # the lowest bound either sent for it
    assert flags_first == flags_second == called

    # Past the barrier neither takes below it, and the next barrier is a new one.
    _, low, flags = await swap(second, (70, 1, 6))
    assert low == (60, 0, 9) and flags == Flags()


async def test_a_job_whose_own_bound_moved_takes_on_without_waiting_for_the_others() -> None:
    # Its lanes were held below the old bound and one has ended since: nothing
    # read, but its own bound moved, and with it the bound it may take to. Waiting
    # for the other job here would wait for ever: that one waits for this one.
    first, second = two_jobs()
    await swap(second, (50, 1, 2), idle=False)
    await swap(first, (10, 0, 5), flags=Flags(), idle=True)  # takes in the second's bound

    _, low, _ = await asyncio.wait_for(first.swap({}, (20, 0, 6), Flags(), True), 2)

    assert low == (20, 0, 6)
