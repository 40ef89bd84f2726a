"""Which London hour of the day, and of the week, an hour bucket is: the seasons people live by.

Hour buckets are numbered in UTC hours since the epoch (`hub.domain.windows`). Demand
follows the clock on the wall, so after a clock change "the same hour yesterday" is 23 or
25 UTC hours back, not 24. Seasonal models and baselines therefore index their seasonal
terms by the London slot of an hour: its hour of day (a daily season of 24 slots) or its
weekday and hour (a weekly season of 168). On the autumn change two UTC hours share a
slot (01:00 happens twice) and on the spring change one slot is skipped; both are
simply one more, or one fewer, observation of that slot.

    >>> local_slot(493_353)  # 2026-04-13 09:00 UTC is 10:00 BST on a Monday
    (0, 10)
    >>> slot_words(493_353, WEEK)
    'Monday 10:00'
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Final

from hub.domain.windows import LONDON

DAY: Final = 24
WEEK: Final = 168
WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@lru_cache(maxsize=65_536)
def local_slot(hour: int) -> tuple[int, int]:
    """Return the London (weekday, hour of day) of an hour bucket; Monday is 0."""
    local = datetime.fromtimestamp(hour * 3600, tz=UTC).astimezone(LONDON)
    return local.weekday(), local.hour


def season_index(hour: int, period: int) -> int:
    """Return the hour's slot in a daily (24) or weekly (168) season of London time."""
    weekday, of_day = local_slot(hour)
    if period == WEEK:
        return weekday * DAY + of_day
    if period == DAY:
        return of_day
    raise ValueError(f"a season is {DAY} or {WEEK} hours, not {period}")


def slot_words(hour: int, period: int) -> str:
    """Say which slot an hour is, as a control room would: "Monday 09:00" or "09:00"."""
    weekday, of_day = local_slot(hour)
    clock = f"{of_day:02d}:00"
    return f"{WEEKDAYS[weekday]} {clock}" if period == WEEK else clock
