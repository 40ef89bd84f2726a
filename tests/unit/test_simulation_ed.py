"""The ED simulator exercises the optional flow fields, and every version it sends is valid."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from hub.domain.feeds import FEEDS
from hub.domain.orgs import ReferenceData
from hub.domain.validation import Invalid, validate
from hub.simulation.ed import EdSimulator

START = int(datetime(2026, 11, 23, 6, tzinfo=UTC).timestamp() * 1000)


def test_most_trusts_send_flow_fields_and_every_version_validates(ref: ReferenceData) -> None:
    sim = EdSimulator(ref, random.Random(1), "t", scale=0.2, warm_up_hours=6)
    pushes = sim.advance(START, START + 2 * 3_600_000)
    assert len(pushes) > 500
    trusts_with_flow, trusts = set(), set()
    for push in pushes:
        received = datetime.fromtimestamp(max(push.due_ms, START) / 1000 + 60, tz=UTC)
        record = validate(FEEDS["ed-attendance"], push.record, ref=ref, received_at=received)
        assert not isinstance(record, Invalid), (push.record, record.errors)
        trusts.add(record.trust)
        if record.ed_area is not None:
            trusts_with_flow.add(record.trust)
    assert 0.5 * len(trusts) < len(trusts_with_flow) < len(trusts)  # some trusts do not send them
    final = {p.record["attendance_id"]: p.record for p in sorted(pushes, key=lambda p: p.due_ms)}
    assert any(r.get("seen_at") and r.get("referred_at") for r in final.values())
    assert any(r.get("ed_area") in ("majors", "resus") for r in final.values())
