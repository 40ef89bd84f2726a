"""Figures delayed (`hub.domain.delays`): records accepted but not applied, summed per feed."""

from __future__ import annotations

from hub.api.render import quality_json
from hub.domain.delays import Behind, FeedDelay, age_words, feed_delays
from hub.domain.quality import Quality, with_delay

NOW = 1_800_000_000_000


def test_partitions_sum_per_feed_with_the_oldest_accept_and_are_judged_against_the_limit() -> None:
    behind = [
        Behind("uec.ambulance.handover", 0, 700, NOW - 200_000),
        Behind("uec.ambulance.handover", 3, 534, NOW - 30_000),
        Behind("uec.acute.ed", 1, 12, NOW - 20_000),
        Behind("uec.direct.RX9.ambulance.handover", 0, 50, NOW - 900_000),  # not the API's
        Behind("other.ambulance.handover", 0, 50, NOW - 900_000),  # another prefix
        Behind("uec.acute.ed", 2, 0, NOW - 900_000),  # nothing waiting
    ]
    delays = feed_delays(behind, "uec.", NOW, after_s=60)
    assert delays == {
        "ambulance-handover": FeedDelay("ambulance-handover", 1_234, 200.0, True),
        "ed-attendance": FeedDelay("ed-attendance", 12, 20.0, False),
    }
    assert delays["ambulance-handover"].text == (
        "figures delayed: 1,234 records not yet applied (oldest 3 min)"
    )
    assert delays["ed-attendance"].as_dict() == {
        "pending_records": 12, "oldest_pending_s": 20.0, "delayed": False, "text": None
    }  # fmt: skip


def test_ages_read_as_a_control_room_says_them() -> None:
    assert [age_words(s) for s in (0, 45.4, 60, 179, 7_199, 7_500)] == [
        "0 s", "45 s", "1 min", "2 min", "119 min", "2 h 5 min"
    ]  # fmt: skip
    assert FeedDelay("ed-attendance", 1, 75, True).text == (
        "figures delayed: 1 record not yet applied (oldest 1 min)"
    )


def test_a_delay_makes_a_figure_unknown_and_keeps_what_its_inputs_said() -> None:
    delay = FeedDelay("ambulance-handover", 40, 181.25, True)
    alone = with_delay(None, delay, inputs=11)
    assert alone.unknown and alone.status == "delayed"
    assert quality_json(alone) == {
        "status": "delayed", "live": 11, "expected": 11, "age_minutes": None,
        "text": "figures delayed: 40 records not yet applied (oldest 3 min)",
        "pending_records": 40, "oldest_pending_s": 181.2,
    }  # fmt: skip
    late = Quality("partial", 9, 11, 47, "2 of 11 ambulance services not live", False)
    both = with_delay(late, delay, inputs=11)
    assert (both.live, both.expected, both.age_minutes, both.unknown) == (9, 11, 47, True)
    assert both.text.endswith("(oldest 3 min); 2 of 11 ambulance services not live")
