"""What both daily SitReps share: the submitted counter and the scopes a return counts in."""

from __future__ import annotations

from collections.abc import Iterable

from hub.domain.metrics.base import Changes, changes
from hub.domain.orgs import ReferenceData
from hub.domain.scopes import NATIONAL, org_scope, region_scope

SUBMITTED = "n"  # organisations that submitted the date: coverage's numerator


def scopes_of(org: str, ref: ReferenceData) -> tuple[str, ...]:
    """Return the scopes a return counts in: its organisation, its region and England."""
    return (org_scope(org), region_scope(ref.region_of_org(org)), NATIONAL)


def day_changes(counters: Iterable[tuple[str, int]]) -> Changes:
    """Return a return's counter changes, leaving zeros out."""
    return changes(*counters)
