"""The proportion metrics a learning league compares, and where their counts come from.

A funnel plot needs each organisation's numerator and denominator, not only
its percentage, so each league metric names the two counters of its family.
Handover shares (over 30 or 60 minutes, as a share of handovers completed)
are added here for comparison; they are not in the SPEC §4 catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.domain.metrics import ed, handover, nhs111


@dataclass(frozen=True, slots=True)
class LeagueMetric:
    """A proportion: its counters, the organisation kinds it compares, and its words."""

    id: str
    numerator: str
    denominator: str
    kinds: tuple[str, ...]
    description: str
    better: str  # "higher" or "lower"


LEAGUE_METRICS: dict[str, LeagueMetric] = {
    m.id: m
    for m in (
        LeagueMetric(
            "ed.four_hour_pct",
            ed.WITHIN_4H,
            ed.DEPARTURES,
            ("acute",),
            "A&E departures within 4 hours of arrival",
            "higher",
        ),
        LeagueMetric(
            "ed.over_12h_from_arrival_pct",
            ed.TYPE1_OVER_12H,
            ed.TYPE1_DEPARTURES,
            ("acute",),
            "Type 1 A&E departures over 12 hours from arrival",
            "lower",
        ),
        LeagueMetric(
            "ed.dta_over_12h_pct",
            ed.DTA_OVER_12H,
            ed.ADMITTED,
            ("acute",),
            "Admitted patients over 12 hours from decision to admit",
            "lower",
        ),
        LeagueMetric(
            "nhs111.answered_within_60s_pct",
            nhs111.FIELDS["answered_within_60s"],
            nhs111.FIELDS["calls_answered"],
            ("nhs111",),
            "NHS 111 calls answered within 60 seconds",
            "higher",
        ),
        LeagueMetric(
            "nhs111.abandoned_pct",
            nhs111.FIELDS["abandoned"],
            nhs111.FIELDS["calls_received"],
            ("nhs111",),
            "NHS 111 calls abandoned",
            "lower",
        ),
        *(
            LeagueMetric(
                f"handover.over_{line}_pct",
                counter,
                handover.COMPLETED,
                ("acute", "ambulance"),
                f"Handovers over {line} minutes, as a share of handovers completed",
                "lower",
            )
            for counter, line in handover.OVER.items()
            if line in (30, 60)
        ),
    )
}
