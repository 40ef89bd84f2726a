"""Each feed's cross-field checks (SPEC §3): time order, parts within wholes, site ownership.

A rule sees only the fields that were read successfully, so one bad field
earns one error, not a cascade.
"""

from __future__ import annotations

from functools import partial

from hub.domain.errors import FieldError
from hub.domain.orgs import ReferenceData
from hub.domain.timestamps import format_utc
from hub.domain.validation_rules import Rule, Values


def _order(
    later: str, earlier: str, values: Values, ref: ReferenceData, errors: list[FieldError]
) -> None:
    first, second = values.get(earlier), values.get(later)
    if first is not None and second is not None and second < first:
        errors.append(
            FieldError(
                later, f"{later} ({format_utc(second)}) is before {earlier} ({format_utc(first)})"
            )
        )


def _at_most(
    part: str, whole: str, values: Values, ref: ReferenceData, errors: list[FieldError]
) -> None:
    small, big = values.get(part), values.get(whole)
    if small is not None and big is not None and small > big:
        errors.append(FieldError(part, f"{part} ({small}) is more than {whole} ({big})"))


def _clear_needs_handover(values: Values, ref: ReferenceData, errors: list[FieldError]) -> None:
    clear = values.get("clear_at")
    if clear is not None and "handover_at" in values and values["handover_at"] is None:
        errors.append(
            FieldError(
                "clear_at",
                f"clear_at ({format_utc(clear)}) is given without "
                "handover_at; a crew clears only after handover",
            )
        )


CLOSED_WITHOUT_RESPONSE = ("hear_and_treat", "cancelled")


def _closed_without_response(values: Values, ref: ReferenceData, errors: list[FieldError]) -> None:
    outcome, arrival = values.get("outcome"), values.get("first_arrival_at")
    if outcome in CLOSED_WITHOUT_RESPONSE and arrival is not None:
        errors.append(
            FieldError(
                "outcome",
                f"outcome {outcome} closes an incident without a response on scene, but "
                f"first_arrival_at ({format_utc(arrival)}) says one arrived; send "
                "see_and_treat or see_and_convey, or leave first_arrival_at empty",
            )
        )


def _quarter_hour(values: Values, ref: ReferenceData, errors: list[FieldError]) -> None:
    start = values.get("interval_start")
    if start is not None and (start.minute % 15 or start.second or start.microsecond):
        errors.append(
            FieldError(
                "interval_start",
                f"interval_start ({format_utc(start)}) is "
                "not a quarter hour; an interval starts at :00, :15, :30 or "
                ":45 with zero seconds",
            )
        )


def _site_of_trust(values: Values, ref: ReferenceData, errors: list[FieldError]) -> None:
    site, trust = values.get("site"), values.get("trust")
    if site is not None and trust is not None and ref.sites[site].trust != trust:
        owner = ref.sites[site]
        errors.append(
            FieldError(
                "site",
                f"site {site} ({owner.name}) belongs to {owner.trust}, "
                f"not to the record's trust {trust}",
            )
        )


def _departed_after_arrival(values: Values, ref: ReferenceData, errors: list[FieldError]) -> None:
    if values.get("decision_to_admit_at") is None:  # with a DTA the two steps cover it
        _order("departed_at", "arrived_at", values, ref, errors)


def _ga_beds(values: Values, ref: ReferenceData, errors: list[FieldError]) -> None:
    occupied, available = values.get("ga_beds_occupied"), values.get("ga_beds_available")
    escalation = values.get("escalation_beds")
    if occupied is None or available is None or escalation is None:
        return
    if occupied > available + escalation:
        errors.append(
            FieldError(
                "ga_beds_occupied",
                (
                    f"ga_beds_occupied ({occupied}) is more than ga_beds_available ({available}) plus "
                    f"escalation_beds ({escalation}); occupied beds may exceed available beds only by "
                    "the escalation beds open"
                ),
            )
        )


RULES: dict[str, tuple[Rule, ...]] = {
    "ambulance-incident": (
        partial(_order, "first_arrival_at", "clock_start_at"),
        _closed_without_response,
    ),
    "ambulance-handover": (
        partial(_order, "handover_at", "arrived_at"),
        partial(_order, "clear_at", "handover_at"),
        _clear_needs_handover,
    ),
    "ambulance-sitrep": (
        partial(_at_most, "handovers_over_30", "handovers"),
        partial(_at_most, "handovers_over_60", "handovers"),
    ),
    "nhs111-interval": (
        _quarter_hour,
        partial(_at_most, "calls_answered", "calls_received"),
        partial(_at_most, "answered_within_60s", "calls_answered"),
    ),
    "ed-attendance": (
        _site_of_trust,
        partial(_order, "decision_to_admit_at", "arrived_at"),
        partial(_order, "departed_at", "decision_to_admit_at"),
        _departed_after_arrival,
        partial(_order, "seen_at", "arrived_at"),
        partial(_order, "referred_at", "arrived_at"),
    ),
    "acute-sitrep": (_ga_beds,),
}
