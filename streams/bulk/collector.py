"""Rarer garbage collections while a bulk job holds its entities.

CPython's collector walks every tracked object of the generations it collects.
A bulk job keeps each entity's version for days of the log (hundreds of
thousands of small objects), and allocates a few dozen objects per message
read, so at the default thresholds it walks that heap again and again. The
versions are plain data (no cycles to find), and the job's own garbage dies
young, so while the job runs collections are made rarer, and whatever was
alive before it started (modules, reference data) is set aside (`gc.freeze`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG = 100_000  # allocations between collections of the youngest generation (default 700)


@contextmanager
def rare_collections() -> Iterator[None]:
    """Collect rarely inside the block; the interpreter's thresholds come back after it."""
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(YOUNG, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if not frozen:  # a process that froze its start-up keeps it frozen
            gc.unfreeze()
