"""Switchable scenarios for the simulated feeds: an ordinary day, or a surge.

A scenario is a set of multipliers by instant that the generators apply to
what they draw (demand, response times, handover waits, time in the ED), so
each generator needs one small hook and no knowledge of the scenario.

The surge is a bad winter evening: demand rises a fifth, ambulance services
fall behind (response times of incidents whose clock starts at the peak are
stretched: C2 four-fold, C3 and C4 three-fold, C1 by 80%, as crews queue at
hospitals and are not released), crews wait longer to hand over, and EDs fill
as admitted patients wait longer for a bed. Pressure ramps up over an hour,
holds for six and eases over three; the surge starts three hours before the
simulator catches up with the real clock, so a hub started with it shows three
hours of it at once, and the rest as it happens. `hub up --scenario surge`
replays from an hour before the surge, not a whole day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

HOUR_MS = 3_600_000
SCENARIOS = ("normal", "surge")


class Scenario(Protocol):
    """Multipliers of what the generators draw, by the instant it is drawn for."""

    def demand(self, at_ms: int) -> float:
        """Multiply the rate of incidents and ED arrivals."""
        ...

    def response(self, category: str, start_ms: int) -> float:
        """Multiply the response time of an incident whose clock starts then."""
        ...

    def handover(self, arrived_ms: int) -> float:
        """Multiply the handover wait of an ambulance arriving then."""
        ...

    def stay(self, admitted: bool, at_ms: int) -> float:
        """Multiply time in the ED from then (to a decision or a bed, or going home)."""
        ...


class Normal:
    """An ordinary day: every multiplier is 1."""

    def demand(self, at_ms: int) -> float:
        return 1.0

    def response(self, category: str, start_ms: int) -> float:
        return 1.0

    def handover(self, arrived_ms: int) -> float:
        return 1.0

    def stay(self, admitted: bool, at_ms: int) -> float:
        return 1.0


NORMAL = Normal()


@dataclass(frozen=True, slots=True)
class Surge:
    """Pressure that ramps up, holds and eases off, scaling each multiplier towards its peak."""

    start_ms: int
    ramp_ms: int = 1 * HOUR_MS
    hold_ms: int = 6 * HOUR_MS
    ease_ms: int = 3 * HOUR_MS
    peak_demand: float = 1.2
    peak_response: dict[str, float] = field(
        default_factory=lambda: {"C1": 1.8, "C2": 4.0, "C3": 3.0, "C4": 3.0}
    )
    peak_handover: float = 2.5
    peak_admitted_stay: float = 2.0
    peak_other_stay: float = 1.4

    def pressure(self, at_ms: int) -> float:
        """Return the surge's strength at an instant: 0 before and after, 1 at its height."""
        t = at_ms - self.start_ms
        if t <= 0:
            return 0.0
        if t < self.ramp_ms:
            return t / self.ramp_ms
        t -= self.ramp_ms
        if t <= self.hold_ms:
            return 1.0
        t -= self.hold_ms
        return max(0.0, 1.0 - t / self.ease_ms)

    def _scaled(self, peak: float, at_ms: int) -> float:
        return 1.0 + (peak - 1.0) * self.pressure(at_ms)

    def demand(self, at_ms: int) -> float:
        return self._scaled(self.peak_demand, at_ms)

    def response(self, category: str, start_ms: int) -> float:
        return self._scaled(self.peak_response[category], start_ms)

    def handover(self, arrived_ms: int) -> float:
        return self._scaled(self.peak_handover, arrived_ms)

    def stay(self, admitted: bool, at_ms: int) -> float:
        peak = self.peak_admitted_stay if admitted else self.peak_other_stay
        return self._scaled(peak, at_ms)


SURGE_LEAD_MS = 3 * HOUR_MS  # how long before the simulator catches up the surge starts
SURGE_HISTORY_DAYS = (SURGE_LEAD_MS + HOUR_MS) / 86_400_000  # replay from an hour before it


def history_days(name: str, days: float) -> float:
    """Return how far back `hub up` starts the simulator for a scenario (at most `days`).

    A surge demo starts an hour before the surge: a day of ordinary feeds before it would
    only delay it (a day's replay takes minutes on a small machine).
    """
    return min(days, SURGE_HISTORY_DAYS) if name == "surge" else days


def scenario(name: str, caught_up_ms: int) -> Scenario:
    """Return the named scenario, placed for a simulator that catches up at `caught_up_ms`."""
    if name == "normal":
        return NORMAL
    if name == "surge":
        return Surge(caught_up_ms - SURGE_LEAD_MS)
    raise ValueError(f"unknown scenario {name!r}: one of {', '.join(SCENARIOS)}")
