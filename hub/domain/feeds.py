"""The six feeds of SPEC §2: topic, entity key, fields and cadence.

Each field is described once here; validation, CSV parsing, the OpenAPI
schemas and the simulator all read these tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FieldType(Enum):
    """How a field's raw value is read."""

    TEXT = "text"  # an identifier chosen by the submitter
    ORG = "org"  # an organisation code from the reference data
    SITE = "site"  # a site code from the reference data
    TIMESTAMP = "timestamp"  # ISO 8601, naive = Europe/London
    DATE = "date"  # ISO calendar date
    COUNT = "count"  # non-negative integer
    NUMBER = "number"  # non-negative number (seconds, hours)
    CHOICE = "choice"  # one of `choices`


class FeedKind(Enum):
    """Event feeds carry one thing that happened; SitReps one day's return."""

    EVENT = "event"
    SITREP = "sitrep"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a feed's record."""

    name: str
    type: FieldType
    required: bool = True
    choices: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class Cadence:
    """When a feed counts as late or stale: after a silence, or a daily return due at a local time.

    A continuous feed is late after `late_after_minutes` of silence and stale
    after four times that. A daily return is late once its due time passes
    without the previous day's return, and stale when a whole day is missing.
    """

    late_after_minutes: int | None = None
    daily_due_local: str | None = None  # "11:00" for the previous day's SitRep

    @property
    def stale_after_minutes(self) -> int | None:
        return None if self.late_after_minutes is None else 4 * self.late_after_minutes


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed: its name in URLs, Kafka topic suffix, entity key and fields."""

    name: str
    topic_suffix: str
    kind: FeedKind
    org_field: str
    org_role: str  # the role the submitting organisation must hold
    key_fields: tuple[str, ...]
    event_time_field: str  # the field whose age decides "too late"
    cadence: Cadence
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec:
        """Return the named field's spec."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields)


def _counts(*names: str) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(n, FieldType.COUNT) for n in names)


AMBULANCE_INCIDENT = Feed(
    name="ambulance-incident",
    topic_suffix="ambulance.incident",
    kind=FeedKind.EVENT,
    org_field="ambulance_trust",
    org_role="ambulance",
    key_fields=("ambulance_trust", "incident_id"),
    event_time_field="clock_start_at",
    cadence=Cadence(late_after_minutes=15),
    fields=(
        FieldSpec("incident_id", FieldType.TEXT),
        FieldSpec("ambulance_trust", FieldType.ORG),
        FieldSpec("category", FieldType.CHOICE, choices=("C1", "C2", "C3", "C4")),
        FieldSpec("clock_start_at", FieldType.TIMESTAMP),
        FieldSpec(
            "first_arrival_at",
            FieldType.TIMESTAMP,
            required=False,
            description="when the response that stops the clock arrived on scene; response "
            "times count the incident in the windows holding this instant",
        ),
        FieldSpec(
            "outcome",
            FieldType.CHOICE,
            required=False,
            choices=("hear_and_treat", "see_and_treat", "see_and_convey", "cancelled"),
            description="how the incident closed; null while it is open. hear_and_treat "
            "(advice by phone) and cancelled (stood down: a duplicate call, the caller "
            "cancelled, the patient left) close it without a response on scene, so they "
            "come without first_arrival_at. An incident with neither first_arrival_at nor "
            "an outcome is waiting for a response (ambulance.cN.waiting_now).",
        ),
        FieldSpec("conveyed_to_site", FieldType.SITE, required=False),
    ),
)

AMBULANCE_HANDOVER = Feed(
    name="ambulance-handover",
    topic_suffix="ambulance.handover",
    kind=FeedKind.EVENT,
    org_field="ambulance_trust",
    org_role="ambulance",
    key_fields=("ambulance_trust", "handover_id"),
    event_time_field="arrived_at",
    cadence=Cadence(late_after_minutes=15),
    fields=(
        FieldSpec("handover_id", FieldType.TEXT),
        FieldSpec("ambulance_trust", FieldType.ORG),
        FieldSpec("site", FieldType.SITE),
        FieldSpec("arrived_at", FieldType.TIMESTAMP),
        FieldSpec("handover_at", FieldType.TIMESTAMP, required=False),
        FieldSpec("clear_at", FieldType.TIMESTAMP, required=False),
    ),
)

AMBULANCE_SITREP = Feed(
    name="ambulance-sitrep",
    topic_suffix="ambulance.sitrep",
    kind=FeedKind.SITREP,
    org_field="ambulance_trust",
    org_role="ambulance",
    key_fields=("ambulance_trust", "date"),
    event_time_field="date",
    cadence=Cadence(daily_due_local="11:00"),
    fields=(
        FieldSpec("ambulance_trust", FieldType.ORG),
        FieldSpec("date", FieldType.DATE),
        *_counts("calls_answered", "incidents_c1", "incidents_c2", "incidents_c3", "incidents_c4"),
        *(
            FieldSpec(n, FieldType.NUMBER)
            for n in ("c1_mean_s", "c1_p90_s", "c2_mean_s", "c2_p90_s", "c3_p90_s", "c4_p90_s")
        ),
        *_counts("handovers", "handovers_over_30", "handovers_over_60"),
        FieldSpec("hours_lost", FieldType.NUMBER),
    ),
)

NHS111_INTERVAL = Feed(
    name="nhs111-interval",
    topic_suffix="nhs111.interval",
    kind=FeedKind.EVENT,
    org_field="provider",
    org_role="nhs111",
    key_fields=("provider", "interval_start"),
    event_time_field="interval_start",
    cadence=Cadence(late_after_minutes=30),
    fields=(
        FieldSpec("provider", FieldType.ORG),
        FieldSpec("interval_start", FieldType.TIMESTAMP),
        *_counts(
            "calls_received",
            "calls_answered",
            "answered_within_60s",
            "abandoned",
            "ambulance_dispositions",
            "ed_dispositions",
        ),
        FieldSpec("clinical_input", FieldType.COUNT, required=False),
    ),
)

ED_ATTENDANCE = Feed(
    name="ed-attendance",
    topic_suffix="acute.ed",
    kind=FeedKind.EVENT,
    org_field="trust",
    org_role="acute",
    key_fields=("trust", "attendance_id"),
    event_time_field="arrived_at",
    cadence=Cadence(late_after_minutes=15),
    fields=(
        FieldSpec("attendance_id", FieldType.TEXT),
        FieldSpec("trust", FieldType.ORG),
        FieldSpec("site", FieldType.SITE),
        FieldSpec("department_type", FieldType.CHOICE, choices=("1", "2", "3")),
        FieldSpec("arrival_mode", FieldType.CHOICE, choices=("ambulance", "walk_in", "other")),
        FieldSpec("arrived_at", FieldType.TIMESTAMP),
        FieldSpec("decision_to_admit_at", FieldType.TIMESTAMP, required=False),
        FieldSpec("departed_at", FieldType.TIMESTAMP, required=False),
        # Optional flow fields (issue 14, for OPEL): a trust that does not send them has those
        # OPEL parameters shown as missing, never as zero.
        FieldSpec(
            "seen_at",
            FieldType.TIMESTAMP,
            required=False,
            description="first seen for treatment by a clinician (ECDS seen-for-treatment time)",
        ),
        FieldSpec(
            "ed_area",
            FieldType.CHOICE,
            required=False,
            choices=("resus", "majors", "minors", "other"),
            description="the ED area the patient is in (or left from)",
        ),
        FieldSpec(
            "referred_at",
            FieldType.TIMESTAMP,
            required=False,
            description="referred to a specialty (ECDS referred-to-service time)",
        ),
    ),
)

ACUTE_SITREP = Feed(
    name="acute-sitrep",
    topic_suffix="acute.sitrep",
    kind=FeedKind.SITREP,
    org_field="trust",
    org_role="acute",
    key_fields=("trust", "date"),
    event_time_field="date",
    cadence=Cadence(daily_due_local="11:00"),
    fields=(
        FieldSpec("trust", FieldType.ORG),
        FieldSpec("date", FieldType.DATE),
        *_counts(
            "ga_beds_available",
            "ga_beds_occupied",
            "escalation_beds",
            "cc_beds_available",
            "cc_beds_occupied",
            "beds_closed_dv",
            "ed_diverts",
            "long_stay_21plus",
            "no_criteria_to_reside",
        ),
        FieldSpec("opel_level", FieldType.CHOICE, choices=("1", "2", "3", "4")),
    ),
)

FEEDS: dict[str, Feed] = {
    feed.name: feed
    for feed in (
        AMBULANCE_INCIDENT,
        AMBULANCE_HANDOVER,
        AMBULANCE_SITREP,
        NHS111_INTERVAL,
        ED_ATTENDANCE,
        ACUTE_SITREP,
    )
}

DEADLETTER_SUFFIX = "deadletter"


def topic_for(feed: Feed, prefix: str) -> str:
    """Return the Kafka topic of `feed` under `prefix` (default `uec.`)."""
    return f"{prefix}{feed.topic_suffix}"


def feed_for_topic(topic: str, prefix: str) -> Feed | None:
    """Return the feed whose topic is `topic`, if any."""
    for feed in FEEDS.values():
        if topic_for(feed, prefix) == topic:
            return feed
    return None


DIRECT = "direct"


def direct_topic_for(feed: Feed, org: str, prefix: str) -> str:
    """Return the topic an organisation's own producer writes `feed` to, e.g.
    `uec.direct.RX9.ambulance.handover`.

    Only that organisation's Kafka principal may write there (an ACL), so a record
    on it is that organisation's: the topic, not the record, says who submitted it.
    """
    return f"{prefix}{DIRECT}.{org}.{feed.topic_suffix}"


def route_of_topic(topic: str, prefix: str) -> tuple[Feed, str | None] | None:
    """Return a topic's feed and, for a direct topic, the organisation that owns it."""
    feed = feed_for_topic(topic, prefix)
    if feed is not None:
        return feed, None
    head = f"{prefix}{DIRECT}."
    if not topic.startswith(head):
        return None
    org, _, suffix = topic[len(head) :].partition(".")
    for candidate in FEEDS.values():
        if candidate.topic_suffix == suffix and org:
            return candidate, org
    return None
