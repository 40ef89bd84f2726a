"""ED flow fields (optional): time to treatment, majors/resus and referrals, missing not zero."""

from __future__ import annotations

import pytest

from hub.domain.feeds import FEEDS
from hub.domain.validation import Invalid, validate
from tests.integration.metrics.conftest import HubMaker
from tests.integration.metrics.test_metric_ed import FEED, attendance
from tests.metric_hubs import NOW, REF, ago


async def test_without_flow_fields_the_median_is_missing_and_the_flow_gauges_are_empty(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(FEED, attendance(1, ago(90)))
    got = await hub.served("org/RX1")
    assert got["ed.time_to_treatment_median_minutes"]["windows"]["4h"] is None
    assert got["ed.flow_reported_now"]["value"] == 0  # the denominator that marks "not reported"
    assert got["ed.in_department_now"]["value"] == 1


async def test_median_time_to_treatment_is_the_nearest_rank_median_of_those_seen(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    for n, wait in enumerate([10, 20, 30, 40, 50]):  # median 30 minutes
        await hub.send(FEED, attendance(n, ago(100), seen_at=ago(100 - wait)))
    got = await hub.served("site/RX1CC")
    assert got["ed.seen"]["windows"]["4h"] == 5
    assert got["ed.time_to_treatment_median_minutes"]["windows"]["4h"] == pytest.approx(
        30, rel=0.01
    )


async def test_majors_resus_and_referred_count_only_patients_still_in_the_department(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(FEED, attendance(1, ago(60), ed_area="majors", referred_at=ago(30)))
    await hub.send(FEED, attendance(2, ago(60), ed_area="resus"))
    await hub.send(FEED, attendance(3, ago(60), ed_area="minors"))
    await hub.send(FEED, attendance(4, ago(60), ago(5), ed_area="majors"))  # gone home
    got = await hub.served("org/RX1")
    assert got["ed.flow_reported_now"]["value"] == 3
    assert got["ed.majors_resus_now"]["value"] == 2
    assert got["ed.referred_now"]["value"] == 1


def test_a_referral_or_treatment_before_arrival_is_refused_with_the_field_named() -> None:
    raw = attendance(1, ago(60), referred_at=ago(61), seen_at=ago(62), ed_area="majors")
    record = validate(FEEDS[FEED], raw, ref=REF, received_at=NOW)
    assert isinstance(record, Invalid)
    assert {e.field for e in record.errors} == {"referred_at", "seen_at"}
    bad_area = validate(FEEDS[FEED], attendance(2, ago(60), ed_area="corridor"),
                        ref=REF, received_at=NOW)  # fmt: skip
    assert isinstance(bad_area, Invalid) and bad_area.errors[0].field == "ed_area"
