"""`GET /v1/series` on a real broker and Valkey: each point matches the records pushed."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from hub.domain.local_hours import local_slot
from hub.domain.orgs import ReferenceData
from hub.domain.spc import Direction, xmr
from hub.settings import Settings
from tests.harness import RunningApi, running_api, running_worker, wait_until
from tests.reference import close, ms, scopes_of

pytestmark = pytest.mark.timeout(240)

HOUR = 3_600_000
MINUTE = 60_000
LONDON = ZoneInfo("Europe/London")
SITES = ["RWEAA", "RK950", "R1H12"]  # Leicester, Plymouth and the Royal London: three regions
AMBULANCE = ["RX9", "RX6"]


def iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def handovers(rng: random.Random, now: int, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        arrived = now - rng.randrange(10 * MINUTE, 40 * HOUR)
        done = min(now, arrived + rng.randrange(2 * MINUTE, 95 * MINUTE))
        out.append(
            {
                "handover_id": f"S{i}",
                "ambulance_trust": rng.choice(AMBULANCE),
                "site": rng.choice(SITES),
                "arrived_at": iso(arrived),
                "handover_at": iso(done),
            }
        )
    return out


def attendances(rng: random.Random, ref: ReferenceData, now: int, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        site = rng.choice(SITES)
        arrived = now - rng.randrange(30 * MINUTE, 40 * HOUR)
        record: dict[str, Any] = {
            "attendance_id": f"A{i}",
            "trust": ref.sites[site].trust,
            "site": site,
            "department_type": 1,
            "arrival_mode": rng.choice(["ambulance", "walk_in"]),
            "arrived_at": iso(arrived),
        }
        if rng.random() < 0.85:
            record["departed_at"] = iso(min(now, arrived + rng.randrange(20 * MINUTE, 7 * HOUR)))
        out.append(record)
    return out


def sitreps(trusts: list[str], days: list[date]) -> list[dict[str, Any]]:
    out = []
    for i, trust in enumerate(trusts):
        for j, day in enumerate(days):
            out.append(
                {
                    "trust": trust,
                    "date": day.isoformat(),
                    "ga_beds_available": 500 + 10 * i,
                    "ga_beds_occupied": 450 + 7 * j + i,
                    "escalation_beds": 5,
                    "cc_beds_available": 30,
                    "cc_beds_occupied": 25,
                    "beds_closed_dv": 0,
                    "ed_diverts": 0,
                    "long_stay_21plus": 40,
                    "no_criteria_to_reside": 60,
                    "opel_level": 1 + (i + j) % 4,
                }
            )
    return out


async def push(api: RunningApi, feed: str, org_field: str, records: list[dict[str, Any]]) -> None:
    by_org: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_org[record[org_field]].append(record)
    for org, batch in by_org.items():
        async with api.client(await api.token(org)) as c:
            r = await c.post(
                f"/v1/feeds/{feed}",
                content=orjson.dumps(batch),
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code == 200, r.text
            assert r.json()["accepted"] == len(batch), r.text


def hourly(
    records: list[dict[str, Any]],
    feed: str,
    ref: ReferenceData,
    at: str,
    scope: str,
    keep: Callable[[dict[str, Any]], bool] = lambda r: True,
) -> dict[int, list[dict[str, Any]]]:
    """Group the records counting in `scope` by the hour of their `at` field."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r.get(at) and keep(r) and scope in scopes_of(feed, r, ref):
            out[ms(r[at]) // HOUR].append(r)
    return out


def minutes(r: dict[str, Any], start: str, end: str) -> float:
    return (ms(r[end]) - ms(r[start])) / MINUTE


async def get_series(api: RunningApi, **params: str) -> dict[str, Any]:
    async with api.client() as c:
        r = await c.get("/v1/series", params=params)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def values(body: dict[str, Any]) -> dict[int, Any]:
    return {ms(p["start"]) // HOUR: p["value"] for p in body["points"]}


async def test_hourly_and_daily_points_match_the_records_pushed(
    settings: Settings, ref: ReferenceData
) -> None:
    rng = random.Random(5)
    now = int(time.time() * 1000) - MINUTE
    hos, eds = handovers(rng, now, 400), attendances(rng, ref, now, 300)
    async with running_api(settings, clock_ms=lambda: now) as api, running_worker(settings):
        await push(api, "ambulance-handover", "ambulance_trust", hos)
        await push(api, "ed-attendance", "trust", eds)

        async def visible() -> bool:
            body = await get_series(api, metric="ed.arrivals", **{"from": iso(now - 41 * HOUR)})
            return bool(sum(p["value"] for p in body["points"]) == len(eds))

        await wait_until(visible, timeout=60)
        since = {"from": iso(now - 41 * HOUR)}
        for scope in ["national", "region/Y60", "org/RWE", "org/RX9", "site/RK950"]:
            arrivals = values(
                await get_series(api, metric="handover.arrivals", scope=scope, **since)
            )
            by_arrival = hourly(hos, "ambulance-handover", ref, "arrived_at", scope)
            assert arrivals == {h: len(by_arrival.get(h, [])) for h in arrivals}, scope
            means = values(
                await get_series(api, metric="handover.mean_minutes", scope=scope, **since)
            )
            done = hourly(hos, "ambulance-handover", ref, "handover_at", scope)
            for h, value in means.items():
                rs = done.get(h, [])
                want = (
                    sum(minutes(r, "arrived_at", "handover_at") for r in rs) / len(rs)
                    if rs
                    else None
                )
                assert close(value, want), (scope, h, value, want)
            if scope.startswith("org/RX"):
                continue
            four = values(await get_series(api, metric="ed.four_hour_pct", scope=scope, **since))
            departed = hourly(eds, "ed-attendance", ref, "departed_at", scope)
            for h, value in four.items():
                rs = departed.get(h, [])
                within = sum(minutes(r, "arrived_at", "departed_at") <= 240 for r in rs)
                assert close(value, 100 * within / len(rs) if rs else None), (scope, h)

        daily = await get_series(
            api, metric="handover.arrivals", resolution="day", **{"from": iso(now - 3 * 86_400_000)}
        )
        by_day: dict[str, int] = defaultdict(int)
        for r in hos:
            by_day[
                datetime.fromisoformat(r["arrived_at"]).astimezone(LONDON).date().isoformat()
            ] += 1
        assert {p["date"]: p["value"] for p in daily["points"]} == {
            p["date"]: by_day.get(p["date"], 0) for p in daily["points"]
        }
        assert sum(p["value"] for p in daily["points"]) == len(hos)


async def test_hourly_spc_judges_each_hour_against_the_same_hour_on_earlier_days(
    settings: Settings,
) -> None:
    now = int(time.time() * 1000) - MINUTE
    latest = now // HOUR - 1  # the latest complete hour
    # Five days of 3 to 5 ambulance arrivals an hour (by hour of day), then 30 in the latest.
    hours = range(latest - 5 * 24, latest)
    per_hour = {h: 3 + local_slot(h)[1] % 3 for h in hours} | {latest: 30}
    hos = [
        {"handover_id": f"H{h}-{i}", "ambulance_trust": "RX9", "site": "RWEAA",
         "arrived_at": iso(h * HOUR + (i + 1) * MINUTE)}
        for h, n in per_hour.items() for i in range(n)
    ]  # fmt: skip
    async with running_api(settings, clock_ms=lambda: now) as api, running_worker(settings):
        await push(api, "ambulance-handover", "ambulance_trust", hos)

        async def visible() -> bool:
            since = {"from": iso(hours[0] * HOUR)}
            body = await get_series(api, metric="handover.arrivals", **since)
            return bool(sum(p["value"] for p in body["points"]) == len(hos))

        await wait_until(visible, timeout=60)
        body = await get_series(api, metric="handover.arrivals", scope="org/RX9", spc="true",
                                **{"from": iso(now - 72 * HOUR)})  # fmt: skip
    spc = body["spc"]
    assert spc["chart"] == "seasonal" and spc["direction"] == "neutral"
    by_hour = {int(datetime.fromisoformat(p["start"]).timestamp() * 1000) // HOUR: p
               for p in body["points"]}  # fmt: skip
    for h, point in by_hour.items():
        if h > latest:
            assert point["special_cause"] is None  # the hour under way is not judged
            continue
        # The same London hour on up to 7 earlier days, once 3 earlier days hold it.
        same = [x for x in sorted(per_hour) if x < h and local_slot(x)[1] == local_slot(h)[1]]
        earlier = [per_hour[x] for x in same[-7:]]
        if len(earlier) < 3:
            assert point["expected"] is None and point["special_cause"] is None, h
            continue
        assert point["season"] == "day"
        lower, upper = point["lower"], point["upper"]
        assert lower <= sum(earlier) / len(earlier) <= upper, h
        if h == latest:
            assert point["value"] == 30 and point["special_cause"] == "beyond_limit"
            assert point["side"] == "high" and point["kind"] == "neutral" and upper < 30
        else:
            assert point["special_cause"] is None, h  # 3 to 5 an hour, as usual for the hour
    assert spc["variation"] == "neutral_high" and spc["points_used"] == sum(
        1 for h, p in by_hour.items() if h <= latest and p["expected"] is not None
    )
    # A hub younger than its limits' week: they rest on the chart's hours before the latest.
    assert spc["baseline_points"] == spc["points_used"] - 1 and spc["trial_limits"] is False


async def test_daily_spc_lines_and_flags_match_an_xmr_chart_of_the_complete_days(
    settings: Settings,
) -> None:
    rng = random.Random(7)
    now = int(time.time() * 1000) - MINUTE
    hos = handovers(rng, now, 300)
    async with running_api(settings, clock_ms=lambda: now) as api, running_worker(settings):
        await push(api, "ambulance-handover", "ambulance_trust", hos)

        async def visible() -> bool:
            body = await get_series(
                api, metric="handover.arrivals", **{"from": iso(now - 41 * HOUR)}
            )
            return bool(sum(p["value"] for p in body["points"]) == len(hos))

        await wait_until(visible, timeout=60)
        since = {"from": iso(now - 5 * 24 * HOUR), "resolution": "day"}
        body = await get_series(api, metric="handover.mean_minutes", spc="true", **since)
        complete = [p for p in body["points"] if p["complete"] and p["value"] is not None]
        assert body["points"][-1]["complete"] is False  # the day under way
        assert body["points"][-1]["special_cause"] is None
        chart = xmr([p["value"] for p in complete], Direction.DECREASE, target=15)
        spc = body["spc"]
        assert spc["chart"] == "xmr"
        assert spc["direction"] == "decrease" and spc["target"] == 15
        assert spc["points_used"] == len(complete)
        assert close(spc["mean"], chart.mean) and close(spc["upper_limit"], chart.upper_limit)
        assert close(spc["lower_limit"], chart.lower_limit)
        assert spc["variation"] == chart.variation and spc["assurance"] == chart.assurance
        assert [p["special_cause"] for p in complete] == [p.special_cause for p in chart.points]
        neutral = await get_series(api, metric="handover.arrivals", spc="true", **since)
        assert neutral["spc"]["direction"] == "neutral" and neutral["spc"]["assurance"] is None


async def test_sitrep_points_are_per_date_with_coverage(
    settings: Settings, ref: ReferenceData
) -> None:
    today = datetime.now(tz=LONDON).date()
    days = [today - timedelta(days=d) for d in (4, 3, 2, 1)]
    trusts = ["RWE", "RK9", "R1H"]
    records = sitreps(trusts, days[1:]) + sitreps(trusts[:1], days[:1])
    async with running_api(settings) as api, running_worker(settings):
        await push(api, "acute-sitrep", "trust", records)

        sent_per_day = {
            day.isoformat(): sum(r["date"] == day.isoformat() for r in records) for day in days
        }

        async def visible() -> dict[str, Any] | None:
            # Every return applied: the trusts' returns sit on different partitions.
            body = await get_series(
                api, metric="beds.ga_occupancy_pct", **{"from": days[0].isoformat()}
            )
            got = {p["date"]: p["coverage"]["submitted"] for p in body["points"]}
            return body if all(got.get(d) == n for d, n in sent_per_day.items()) else None

        body = await wait_until(visible, timeout=60)
        assert body["resolution"] == "day"
        points = {p["date"]: p for p in body["points"]}
        expected = len(ref.with_role("acute"))
        for day in days:
            sent = [r for r in records if r["date"] == day.isoformat()]
            point = points[day.isoformat()]
            assert point["coverage"] == {"submitted": len(sent), "expected": expected}
            want = (
                100
                * sum(r["ga_beds_occupied"] for r in sent)
                / sum(r["ga_beds_available"] for r in sent)
            )
            assert close(point["value"], want)
        assert points[today.isoformat()]["value"] is None  # nothing sent for today
        opel = await get_series(
            api, metric="opel.level", scope="org/RK9", **{"from": days[0].isoformat()}
        )
        sent_levels = {r["date"]: r["opel_level"] for r in records if r["trust"] == "RK9"}
        assert {
            p["date"]: p["value"] for p in opel["points"] if p["value"] is not None
        } == sent_levels


async def test_a_bad_parameter_is_a_400_problem_naming_it(settings: Settings) -> None:
    async with running_api(settings) as api, api.client() as c:
        for params, field in [
            ({}, "metric"),
            ({"metric": "handover.waiting_now"}, "metric"),
            ({"metric": "ed.arrivals", "scope": "org/ZZZ"}, "scope"),
            ({"metric": "ed.arrivals", "resolution": "minute"}, "resolution"),
            ({"metric": "ed.arrivals", "from": "last tuesday"}, "from"),
            ({"metric": "ed.arrivals", "spc": "perhaps"}, "spc"),
        ]:
            r = await c.get("/v1/series", params=params)
            assert r.status_code == 400, (params, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            body = r.json()
            assert body["errors"][0]["field"] == field
            assert field in body["detail"]
