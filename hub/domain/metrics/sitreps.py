"""What both daily SitReps share: the submitted counter and the scopes a return counts in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from hub.domain.metrics.base import DayTally
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import NATIONAL, org_scope, region_scope

SUBMITTED = "n"  # organisations that submitted the date: coverage's numerator


def scopes_of(org: str, ref: ReferenceData) -> tuple[str, ...]:
    """Return the scopes a return counts in: its organisation, its region and England."""
    return (org_scope(org), region_scope(ref.region_of_org(org)), NATIONAL)


def day_tallies(
    feed: str, day: date, scopes: tuple[str, ...], counters: list[tuple[str, int]]
) -> Iterator[DayTally]:
    """Yield a return's counters for each of its scopes."""
    for scope in scopes:
        for name, n in counters:
            if n:
                yield DayTally(feed, day, scope, name, n)
