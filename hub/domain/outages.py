"""Which hours of a series are missing because a feed was down, not because nothing happened.

The hub keeps, per feed, the hours each organisation was heard from: a record received
in that hour, or a record about that hour (`hh:{feed}`, written with every batch). Once
an organisation's feed has begun, an hour with neither is an **outage hour**: its
figures are missing, not zero, and forecasts and seasonal baselines skip it instead of
learning a fall that never happened. A feed that catches up later (sending the hours it
missed) fills those hours with records about them, so they are no longer missing.

A silence longer than `MAX_OUTAGE_HOURS` is no longer an outage but a feed that has
stopped: its hours count as they are, so a trust that leaves does not blank its region.
An aggregate (a region, England) is missing an hour when any of its inputs is.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Mapping, Set

MAX_OUTAGE_HOURS = 7 * 24


def outage_hours(heard: Set[int], first: int, last: int) -> set[int]:
    """Return the hours from `first` to `last` a feed that had begun was silent for."""
    if not heard:
        return set()  # never sent: "never", not an outage
    silent = set(range(max(first, min(heard)), last + 1)).difference(heard)
    if not silent:  # the usual case, found at C speed
        return silent
    top = max(silent)
    before = sorted(h for h in heard if h < top)
    out: set[int] = set()
    for hour in sorted(silent):
        last_heard = before[bisect_left(before, hour) - 1]  # some hour before it was heard
        if hour - last_heard <= MAX_OUTAGE_HOURS:
            out.add(hour)
    return out


def missing_hours(
    inputs: Collection[str], heard: Mapping[str, Set[int]], first: int, last: int
) -> set[int]:
    """Return the hours from `first` to `last` when any of a figure's input organisations was out."""
    out: set[int] = set()
    for org in inputs:
        out |= outage_hours(heard.get(org, frozenset()), first, last)
    return out


def began(inputs: Collection[str], heard: Mapping[str, Set[int]]) -> int | None:
    """Return the first hour any input was heard from (None: none ever was): no data before it."""
    firsts = [min(heard[org]) for org in inputs if heard.get(org)]
    return min(firsts) if firsts else None
