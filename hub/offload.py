"""Keep the event loop of `hub serve` free: CPU-heavy work beside it, and short collector passes.

Reading and validating a body is pure Python: 10 MiB of records is seconds of
CPU, and on the event loop every request waiting meanwhile would wait as long.
`OffLoop` runs such work in one thread of its own, one piece at a time, so the
loop goes on answering. Python's interpreter lock still lets one thread run at
a time: the loop gets it back at the interpreter's switch interval, which
`hub serve` shortens to a millisecond (`SWITCH_INTERVAL_S`), so a read waits at
most about that long for a validation under way, instead of for all of it.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
SWITCH_INTERVAL_S = 0.001  # Python's default is 5 ms: a read could wait that long per turn


def share_the_interpreter_finely() -> None:
    """Let the event loop take the interpreter back within a millisecond of wanting it."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def spare_the_collector_what_lives_for_ever() -> None:
    """Keep what a process holds from its start (modules, reference data, the catalogue) out
    of the cyclic garbage collector's full passes.

    A full pass over the 76,000 objects an API process holds once built took 41 ms of CPU
    (measured), with every request waiting; over what a running process adds (cached
    figures, about 20,000 objects), 2–3 ms. Frozen objects are still freed when their last
    reference goes; only cycles among them would stay, and start-up builds none to drop.
    """
    gc.collect()
    gc.freeze()


class OffLoop:
    """Run callables in one thread beside the event loop, in the order they are given."""

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def __call__(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


async def inline(work: Callable[[], T]) -> T:
    """Run a callable on the event loop itself (tests, and callers with nothing to protect)."""
    return work()
