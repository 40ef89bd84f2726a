"""Ambulance incident metrics (SPEC §4), hand-checked: counts, means, 90th centiles, outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.adapters.reference_files import load_response_standards, load_scoped_thresholds
from hub.bootstrap import SHARE_BASES
from hub.domain import sketch
from hub.domain.errors import ConfigError
from tests.conftest import CONFIG
from tests.integration.metrics.conftest import HubMaker
from tests.metric_hubs import NOW, Hub, ago, incident, judged, z

FEED = "ambulance-incident"


async def responses(hub: Hub, seconds: list[float], category: str = "C2", first: int = 0) -> None:
    """Send incidents whose clocks started 3½ hours ago, answered after `seconds`."""
    start = NOW - timedelta(minutes=210)
    for n, s in enumerate(seconds, start=first):
        arrival = z(start + timedelta(seconds=s))
        await hub.send(FEED, incident(n, z(start), arrival, category=category))


@pytest.mark.parametrize(
    ("count", "rank"),
    [(1, 1), (2, 2), (9, 9), (10, 9), (11, 10), (19, 18), (20, 18), (21, 19), (100, 90)],
)
async def test_the_90th_centile_is_the_nearest_rank_value(
    make_hub: HubMaker, count: int, rank: int
) -> None:
    # Values 100 s apart from 1000 s, so the 1% sketch cannot confuse neighbours.
    values = [1000.0 + 100 * i for i in range(count)]
    hub = await make_hub()
    await responses(hub, list(reversed(values)))
    p90 = (await hub.window("ambulance.c2.p90_seconds", "org/RX9"))["4h"]
    assert p90 == pytest.approx(values[rank - 1], rel=0.01)


def test_the_sketch_reads_back_within_1_percent_everywhere_from_a_second_to_a_day() -> None:
    for seconds in [0.5, 1, 7.3, 59.9, 420, 900, 3600, 10_800, 86_400]:
        assert sketch.bucket_value(sketch.bucket_of(seconds)) == pytest.approx(seconds, rel=0.01)
    assert sketch.nearest_rank({}, 0.9) is None


async def test_an_instant_response_is_zero_seconds(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await responses(hub, [0.0], category="C1")
    got = await hub.served("org/RX9")
    assert got["ambulance.c1.p90_seconds"]["windows"]["4h"] == 0.0
    assert got["ambulance.c1.mean_seconds"]["windows"]["4h"] == 0.0


async def test_the_mean_counts_only_incidents_a_response_reached(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await responses(hub, [300, 600], category="C1")
    await hub.send(FEED, incident(9, ago(20), None, category="C1", outcome="hear_and_treat"))
    got = await hub.served("region/Y60")
    assert got["ambulance.c1.incidents"]["windows"]["4h"] == 3
    assert got["ambulance.c1.mean_seconds"]["windows"]["4h"] == pytest.approx(450.0)


async def test_means_and_centiles_are_null_without_responses(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await hub.send(FEED, incident(1, ago(20), None, category="C3"))
    got = await hub.served("national")
    assert got["ambulance.c3.incidents"]["windows"]["4h"] == 1
    assert got["ambulance.c3.p90_seconds"]["windows"]["4h"] is None
    assert got["ambulance.c2.mean_seconds"]["windows"]["4h"] is None


async def test_each_category_and_outcome_is_counted_apart(make_hub: HubMaker) -> None:
    hub = await make_hub()
    cases = [
        ("C1", "see_and_convey"),
        ("C2", "see_and_treat"),
        ("C2", None),
        ("C4", "hear_and_treat"),
    ]
    for n, (category, outcome) in enumerate(cases):
        await hub.send(FEED, incident(n, ago(10), None, category=category, outcome=outcome))
    got = await hub.served("org/RX9")
    counts = {
        k: got[k]["windows"]["15m"] for k in got if k.endswith(("incidents", "treat", "convey"))
    }
    assert counts == {
        "ambulance.incidents": 4,
        "ambulance.c1.incidents": 1,
        "ambulance.c2.incidents": 2,
        "ambulance.c3.incidents": 0,
        "ambulance.c4.incidents": 1,
        "ambulance.hear_and_treat": 1,
        "ambulance.see_and_treat": 1,
        "ambulance.see_and_convey": 1,
    }


async def test_a_region_s_centile_is_taken_over_its_incidents_not_averaged_from_members(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await responses(hub, [100.0] * 9 + [5000.0])  # RX9: p90 100 s
    start = NOW - timedelta(minutes=210)
    for n in range(10):  # RYA: p90 2000 s
        arrival = z(start + timedelta(seconds=2000))
        await hub.send(FEED, incident(100 + n, z(start), arrival, ambulance_trust="RYA"))
    # 20 values: the 18th smallest is 2000 s; an average of members' p90s would be 1050.
    assert (await hub.window("ambulance.c2.p90_seconds", "region/Y60"))["4h"] == pytest.approx(
        2000, rel=0.01
    )


async def test_a_response_across_the_spring_clock_change_is_measured_in_real_time(
    make_hub: HubMaker,
) -> None:
    # 29 March 2026: clock starts 00:55 GMT, the crew arrives 02:03 BST = 01:03 UTC: 8 minutes.
    received = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    hub = await make_hub()
    await hub.send(
        FEED,
        incident(1, "2026-03-29T00:55:00Z", "2026-03-29T02:03:00+01:00", category="C1"),
        received,
    )
    got = await hub.served("org/RX9", received)
    assert got["ambulance.c1.mean_seconds"]["windows"]["4h"] == pytest.approx(480.0)


async def test_a_response_after_a_long_wait_counts_in_the_window_where_it_arrived(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    # Reached 10 minutes ago: one after 4 h 50 min (17,400 s), one after 20 min (1,200 s).
    await hub.send(FEED, incident(1, ago(300), ago(10)))
    await hub.send(FEED, incident(2, ago(30), ago(10)))
    got = await hub.served("org/RX9")
    mean = got["ambulance.c2.mean_seconds"]["windows"]
    assert mean == {"15m": 9300.0, "1h": 9300.0, "4h": 9300.0, "24h": 9300.0}
    p90 = got["ambulance.c2.p90_seconds"]["windows"]["15m"]
    assert p90 == pytest.approx(17_400, rel=0.01)
    # Incidents still count by when their clock started: the first started 5 hours ago.
    assert got["ambulance.c2.incidents"]["windows"] == {"15m": 0, "1h": 1, "4h": 1, "24h": 2}


async def test_a_response_leaves_the_window_of_its_clock_start_when_corrected(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(FEED, incident(1, ago(100), ago(90)))  # reached 90 minutes ago: 600 s
    before = (await hub.window("ambulance.c2.mean_seconds", "national")).values()
    assert list(before) == [None, None, 600.0, 600.0]
    await hub.send(FEED, incident(1, ago(100), ago(5)))  # corrected: reached 5 minutes ago
    after = (await hub.window("ambulance.c2.mean_seconds", "national")).values()
    assert list(after) == [5700.0, 5700.0, 5700.0, 5700.0]  # the 600 s left no trace


def waiting(got: dict[str, Any], cat: str) -> tuple[Any, Any, Any]:
    """Return (waiting now, longest wait in seconds, over the standard now) of a category."""
    return tuple(
        got[f"ambulance.{cat}.{part}"]["value"]
        for part in ("waiting_now", "longest_wait_seconds", "over_target_now")
    )  # type: ignore[return-value]


async def waits_at_every_scope(hub: Hub) -> None:
    """Send incidents that wait, were reached, closed or are too old to count."""
    sends = [
        incident(1, ago(50)),  # RX9 C2: 50 min, past 40
        incident(2, ago(20)),  # RX9 C2: 20 min
        incident(3, ago(16), category="C1"),  # RX9 C1: 16 min, past 15
        incident(4, ago(15), category="C1"),  # RX9 C1: exactly 15 min, not past it
        incident(5, ago(45), ambulance_trust="RX7"),  # RX7 (Y62) C2: 45 min
        incident(6, ago(60), ago(5)),  # reached: not waiting
        incident(7, ago(200), None, category="C3", outcome="hear_and_treat"),  # closed
        incident(8, ago(190), None, category="C3", outcome="cancelled"),  # closed
        incident(9, ago(25 * 60)),  # clock started over 24 hours ago: left out
        incident(10, ago(185), category="C4", ambulance_trust="RYA"),  # RYA C4: past 3 h
    ]
    for raw in sends:
        await hub.send(FEED, raw)


@pytest.mark.parametrize(
    ("scope", "c1", "c2", "c4"),
    [
        ("org/RX9", (2, 960.0, 1), (2, 3000.0, 1), (0, None, 0)),
        ("org/RYA", (0, None, 0), (0, None, 0), (1, 11_100.0, 1)),
        ("org/RX7", (0, None, 0), (1, 2700.0, 1), (0, None, 0)),
        ("region/Y60", (2, 960.0, 1), (2, 3000.0, 1), (1, 11_100.0, 1)),
        ("region/Y62", (0, None, 0), (1, 2700.0, 1), (0, None, 0)),
        ("national", (2, 960.0, 1), (3, 3000.0, 2), (1, 11_100.0, 1)),
    ],
)
async def test_patients_waiting_now_show_at_every_scope(
    make_hub: HubMaker, scope: str, c1: tuple[Any, ...], c2: tuple[Any, ...], c4: tuple[Any, ...]
) -> None:
    hub = await make_hub()
    await waits_at_every_scope(hub)
    got = await hub.served(scope)
    assert (waiting(got, "c1"), waiting(got, "c2"), waiting(got, "c4")) == (c1, c2, c4)
    assert waiting(got, "c3") == (0, None, 0)
    closed_here = scope in ("org/RX9", "region/Y60", "national")
    assert got["ambulance.hear_and_treat"]["windows"]["4h"] == int(closed_here)
    assert got["ambulance.cancelled"]["windows"]["4h"] == int(closed_here)


async def test_the_ambulance_gauges_are_not_reported_for_hospital_sites(make_hub: HubMaker) -> None:
    hub = await make_hub()
    await waits_at_every_scope(hub)
    got = await hub.served("site/RWEAA")
    assert not [m for m in got if m.startswith("ambulance.")]


async def test_a_waiting_incident_leaves_the_gauges_when_reached_or_closed_and_returns_if_corrected(
    make_hub: HubMaker,
) -> None:
    hub = await make_hub()
    await hub.send(FEED, incident(1, ago(70)))
    await hub.send(FEED, incident(2, ago(90)))
    assert waiting(await hub.served("org/RX9"), "c2") == (2, 5400.0, 2)
    await hub.send(FEED, incident(2, ago(90), ago(1)))  # reached
    assert waiting(await hub.served("org/RX9"), "c2") == (1, 4200.0, 1)
    await hub.send(FEED, incident(1, ago(70), None, outcome="cancelled"))  # stood down
    assert waiting(await hub.served("national"), "c2") == (0, None, 0)
    await hub.send(FEED, incident(2, ago(90)))  # the arrival was sent in error: waiting again
    await hub.send(FEED, incident(1, ago(70), None, category="C3"))  # reopened as a C3
    got = await hub.served("region/Y60")
    assert waiting(got, "c2") == (1, 5400.0, 1)
    assert waiting(got, "c3") == (1, 4200.0, 0)


async def test_a_c4_patient_waiting_over_3_hours_turns_c4_red(make_hub: HubMaker) -> None:
    scoped = load_scoped_thresholds(CONFIG, SHARE_BASES)
    hub = await make_hub()
    await hub.send(FEED, incident(1, ago(175), category="C4"))  # 2 h 55 min: within 3 h
    for scope, level in (("org/RX9", "org"), ("region/Y60", "region"), ("national", "national")):
        got = await hub.served(scope)
        verdict = judged(scoped.rule("ambulance.c4.over_target_now", level), got, "ambulance.c4.over_target_now")  # fmt: skip
        assert (verdict.rag, verdict.value) == ("green", 0.0), scope
    await hub.send(FEED, incident(2, ago(181), category="C4"))  # 3 h 1 min
    for scope, level in (("org/RX9", "org"), ("region/Y60", "region"), ("national", "national")):
        got = await hub.served(scope)
        verdict = judged(scoped.rule("ambulance.c4.over_target_now", level), got, "ambulance.c4.over_target_now")  # fmt: skip
        assert (verdict.rag, verdict.value) == ("red", 50.0), scope  # 1 of the 2 waiting


async def test_a_c4_response_reached_after_5_hours_turns_its_90th_centile_red(
    make_hub: HubMaker,
) -> None:
    scoped = load_scoped_thresholds(CONFIG, SHARE_BASES)
    hub = await make_hub()
    await hub.send(FEED, incident(1, ago(310), ago(10), category="C4"))  # 5 hours' wait
    got = await hub.served("org/RX9")
    rule = scoped.rule("ambulance.c4.p90_seconds", "org")
    assert rule is not None and rule.threshold.window == "4h"
    verdict = judged(rule, got, "ambulance.c4.p90_seconds")
    assert verdict.rag == "red" and verdict.value == pytest.approx(18_000, rel=0.01)


async def test_the_over_target_line_is_the_configured_standard(
    make_hub: HubMaker, tmp_path: Path
) -> None:
    text = (CONFIG / "thresholds.toml").read_text(encoding="utf-8")
    assert load_response_standards(CONFIG) == {
        "ambulance.c1.over_target_now": 15 * 60_000,
        "ambulance.c2.over_target_now": 40 * 60_000,
        "ambulance.c3.over_target_now": 120 * 60_000,
        "ambulance.c4.over_target_now": 180 * 60_000,
    }
    (tmp_path / "thresholds.toml").write_text(text.replace("C2 = 40", "C2 = 30"), encoding="utf-8")
    lines = load_response_standards(tmp_path)
    hub = await make_hub()
    for n, minutes in enumerate([25, 35, 45]):
        await hub.send(FEED, incident(n, ago(minutes)))
    assert waiting(await hub.served("org/RX9"), "c2")[2] == 1
    assert waiting(await hub.served("org/RX9", over_lines=lines), "c2")[2] == 2


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("C1 = 15\nC2 = 40\nC3 = 120", "must give each of C1, C2, C3, C4"),
        ("C1 = 15\nC2 = 40\nC3 = 120\nC4 = 1440", "under 24 hours"),
        ('C1 = 15\nC2 = "40"\nC3 = 120\nC4 = 180', "C2 is not a number"),
    ],
)
def test_a_bad_response_standard_is_refused(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "thresholds.toml").write_text(
        f"[response_standards_minutes]\n{table}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=message):
        load_response_standards(tmp_path)
