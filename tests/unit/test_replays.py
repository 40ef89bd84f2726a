"""A signed envelope written to the log again is refused once its entity's version may have
expired, and never before: a version is kept at least as long as a copy could still arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hub.domain.feeds import FEEDS
from hub.domain.metrics import Params, ms
from hub.domain.orgs import Organisation, ReferenceData, Region, Site
from hub.domain.plan import Planner, Version, replayed, version_kept_ms
from hub.domain.validation import entity_key, to_canonical, validate
from hub.domain.windows import DAY_MS, HOUR_MS

REF = ReferenceData.build(
    [Region("Y60", "Midlands")],
    [
        Organisation("RX9", "East Midlands Ambulance Service", "Y60", ("ambulance",)),
        Organisation("RWE", "University Hospitals of Leicester", "Y60", ("acute",)),
    ],
    [Site("RWEAA", "LRI", "RWE")],
)
HANDOVER = FEEDS["ambulance-handover"]
SITREP = FEEDS["acute-sitrep"]


def test_an_envelope_is_a_replay_only_when_older_than_its_feeds_version_retention() -> None:
    assert version_kept_ms(HANDOVER) == 8 * DAY_MS  # the 7-day amendment window and a day
    assert version_kept_ms(SITREP) == 16 * DAY_MS  # 14 days, the date itself, and a day
    now = ms(datetime(2026, 11, 23, tzinfo=UTC))
    assert not replayed(HANDOVER, now - 8 * DAY_MS + 1, now)
    assert replayed(HANDOVER, now - 8 * DAY_MS, now)
    assert not replayed(SITREP, now - 15 * DAY_MS, now)
    assert replayed(SITREP, now - 16 * DAY_MS, now)


def handover(received: datetime, late: timedelta) -> Version:
    """Return a handover accepted at `received`, about an arrival `late` before that."""
    arrived = received - late
    raw = {"handover_id": "H1", "ambulance_trust": "RX9", "site": "RWEAA",
           "arrived_at": arrived.isoformat()}  # fmt: skip
    record = validate(HANDOVER, raw, ref=REF, received_at=received)
    assert not hasattr(record, "errors"), record
    return Version(HANDOVER, entity_key(HANDOVER, record), record,
                   dict(to_canonical(HANDOVER, record)), ms(received), "RX9", ms(arrived), "s:1")  # fmt: skip


@settings(max_examples=300, deadline=None)
@example(late_min=0, applied_after_min=0, copied_after_min=8 * 24 * 60)  # the very edge
@given(
    late_min=st.integers(0, 7 * 24 * 60 - 1),  # anything validation accepts as on time
    applied_after_min=st.integers(0, 20 * 24 * 60),  # when a worker first applied it
    copied_after_min=st.integers(0, 30 * 24 * 60),  # when a copy reached a worker
)
def test_a_copy_not_refused_as_a_replay_always_finds_the_version_its_original_stored(
    late_min: int, applied_after_min: int, copied_after_min: int
) -> None:
    received = datetime(2026, 11, 23, 10, tzinfo=UTC)
    original = handover(received, timedelta(minutes=late_min))
    applied_ms = original.received_at_ms + applied_after_min * 60_000
    plan = Planner(REF, Params()).plan([original], {}, applied_ms)
    ((_, expires_ms),) = plan.entities.values()
    copied_ms = applied_ms + copied_after_min * 60_000
    if not replayed(HANDOVER, original.received_at_ms, copied_ms):
        assert copied_ms < expires_ms  # still stored: the copy is unchanged, counts nothing


def test_a_late_records_version_is_kept_as_long_as_a_timely_ones() -> None:
    # Kept for the amendment window measured from the event, it would expire a day after a
    # record six days late was applied, while a copy of it is not yet a replay.
    received = datetime(2026, 11, 23, 10, tzinfo=UTC)
    expiries = []
    for late in (timedelta(minutes=30), timedelta(days=6, hours=23)):
        plan = Planner(REF, Params()).plan([handover(received, late)], {}, ms(received))
        ((_, expires_ms),) = plan.entities.values()
        expiries.append(expires_ms - ms(received))
    assert min(expiries) >= version_kept_ms(HANDOVER)
    assert max(expiries) <= version_kept_ms(HANDOVER) + HOUR_MS
