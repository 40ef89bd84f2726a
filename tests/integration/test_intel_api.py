"""OPEL, league and forecast endpoints on a real broker and Valkey, against independent sums."""

from __future__ import annotations

import math
import random
import re
import shutil
import time
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry

from hub.adapters.kafka.topics import ensure_topics
from hub.bootstrap import build
from hub.domain.orgs import ReferenceData
from hub.settings import Settings
from tests.conftest import CONFIG
from tests.harness import RunningApi, running_api, running_worker, wait_until
from tests.integration.test_series_api import iso, push
from tests.reference import ms, nearest_rank

pytestmark = pytest.mark.timeout(300)

HOUR = 3_600_000
MINUTE = 60_000
LONDON = ZoneInfo("Europe/London")
OPEL = tomllib.loads((Path(__file__).parents[2] / "config" / "opel.toml").read_text())


def london_midnight(now: int) -> int:
    local = datetime.fromtimestamp(now / 1000, tz=UTC).astimezone(LONDON)
    return int(datetime(local.year, local.month, local.day, tzinfo=LONDON).timestamp() * 1000)


def flow_attendances(rng: random.Random, now: int, trust: str, site: str, flow: bool) -> list[dict[str, Any]]:  # fmt: skip
    out = []
    for i in range(160):
        arrived = now - rng.randrange(20 * MINUTE, 30 * HOUR)
        r: dict[str, Any] = {"attendance_id": f"{trust}-{i}", "trust": trust, "site": site,
                             "department_type": 1, "arrival_mode": "walk_in", "arrived_at": iso(arrived)}  # fmt: skip
        if rng.random() < 0.7:
            r["departed_at"] = iso(min(now, arrived + rng.randrange(30 * MINUTE, 9 * HOUR)))
        if flow:
            r["ed_area"] = rng.choice(["resus", "majors", "majors", "minors"])
            r["seen_at"] = iso(min(now, arrived + rng.randrange(5 * MINUTE, 3 * HOUR)))
            if r.get("departed_at") and ms(r["seen_at"]) > ms(r["departed_at"]):
                r["seen_at"] = r["departed_at"]
            if rng.random() < 0.3:
                r["referred_at"] = iso(min(now, arrived + rng.randrange(10 * MINUTE, 4 * HOUR)))
        out.append(r)
    return out


def expected_values(eds: list[dict[str, Any]], hos: list[dict[str, Any]], sitrep: dict[str, Any],
                    now: int, spaces: dict[str, int]) -> dict[str, tuple[float | None, int | None]]:  # fmt: skip
    """Each OPEL parameter straight from the records, with the records a since-midnight one
    rests on (SPEC §4 definitions, London midnight; majors/resus over the sites with spaces)."""
    midnight = london_midnight(now)
    since = lambda r, f: bool(r.get(f)) and midnight <= ms(r[f]) <= now  # noqa: E731
    done = [
        (ms(h["handover_at"]) - ms(h["arrived_at"])) / MINUTE
        for h in hos
        if since(h, "handover_at")
    ]
    left = [
        (ms(e["departed_at"]) - ms(e["arrived_at"])) / MINUTE
        for e in eds
        if since(e, "departed_at")
    ]
    seen = [(ms(e["seen_at"]) - ms(e["arrived_at"])) / MINUTE for e in eds if since(e, "seen_at")]
    inside = [e for e in eds if not e.get("departed_at") and ms(e["arrived_at"]) >= now - 48 * HOUR]
    flow = [e for e in inside if e.get("ed_area")]
    in_spaces = [e for e in flow if e["site"] in spaces]
    pct = lambda a, b: 100 * a / b if b else None  # noqa: E731
    return {
        "handover_mean": (sum(done) / len(done) if done else None, len(done)),
        "four_hour": (pct(sum(m <= 240 for m in left), len(left)), len(left)),
        "majors_resus_occupancy": (pct(sum(e["ed_area"] in ("majors", "resus") for e in in_spaces),
                                       sum(spaces[s] for s in {e["site"] for e in in_spaces})), None),
        "time_to_treatment": (nearest_rank(seen, 0.5), len(seen)),
        "over_12h": (pct(sum(ms(e["arrived_at"]) < now - 12 * HOUR for e in inside), len(inside)), None),
        "referred": (pct(sum(bool(e.get("referred_at")) for e in flow), len(flow)), None),
        "ga_occupancy": (pct(sitrep["ga_beds_occupied"], sitrep["ga_beds_available"]), None),
        "no_criteria_to_reside": (pct(sitrep["no_criteria_to_reside"], sitrep["ga_beds_occupied"]), None),
    }  # fmt: skip


def points_from_config(name: str, value: float) -> int:
    entry = next(p for p in OPEL["parameter"] if p["name"] == name)
    higher = entry["worse"] == "higher"
    return 1 + sum((value >= t) if higher else (value < t) for t in entry["thresholds"])


def with_spaces(tmp_path: Path, spaces: dict[str, int]) -> Path:
    """Return a copy of config/ whose reference data gives some sites' majors/resus spaces."""
    copy = tmp_path / "config"
    shutil.copytree(CONFIG, copy)
    text = (copy / "organisations.toml").read_text(encoding="utf-8")
    for site, n in spaces.items():
        text = re.sub(
            rf'(\{{ code = "{site}", name = "[^"]*")', rf"\1, majors_resus_spaces = {n}", text
        )
        assert f"majors_resus_spaces = {n}" in text, site
    (copy / "organisations.toml").write_text(text, encoding="utf-8")
    return copy


def sitrep(trust: str, day: date, level: int) -> dict[str, Any]:
    return {"trust": trust, "date": day.isoformat(), "ga_beds_available": 800, "ga_beds_occupied": 760,
            "escalation_beds": 10, "cc_beds_available": 40, "cc_beds_occupied": 35, "beds_closed_dv": 0,
            "ed_diverts": 0, "long_stay_21plus": 60, "no_criteria_to_reside": 95, "opel_level": level}  # fmt: skip


async def get(api: RunningApi, path: str, **params: str) -> Any:
    async with api.client() as c:
        r = await c.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_computed_opel_matches_the_records_and_the_config_and_sits_beside_the_declared_level(
    settings_factory: Any, ref: ReferenceData, tmp_path: Path
) -> None:
    spaces = {"RX1RA": 30}  # RWE's sites have none in the reference data
    settings = settings_factory(config_dir=with_spaces(tmp_path, spaces))
    await ensure_topics(settings)
    rng = random.Random(14)
    now = int(time.time() * 1000) - MINUTE
    with_flow = flow_attendances(rng, now, "RX1", "RX1RA", flow=True)
    without = flow_attendances(rng, now, "RWE", "RWEAA", flow=False)
    hos = []
    for i in range(120):
        arrived = now - rng.randrange(10 * MINUTE, 30 * HOUR)
        hos.append({"handover_id": f"H{i}", "ambulance_trust": "RX9", "site": "RX1RA", "arrived_at": iso(arrived),
                    "handover_at": iso(min(now, arrived + rng.randrange(5 * MINUTE, 90 * MINUTE)))})  # fmt: skip
    yesterday = (datetime.fromtimestamp(now / 1000, tz=LONDON) - timedelta(days=1)).date()
    sitreps = [sitrep("RX1", yesterday, 2)]
    async with running_api(settings, clock_ms=lambda: now) as api, running_worker(settings):
        await push(api, "ed-attendance", "trust", with_flow + without)
        await push(api, "ambulance-handover", "ambulance_trust", hos)
        await push(api, "acute-sitrep", "trust", sitreps)

        async def applied() -> bool:
            body = await get(api, "/v1/metrics/national")
            return bool(body["metrics"]["ed.arrivals"]["windows"]["24h"] == sum(
                ms(e["arrived_at"]) >= now - 24 * HOUR for e in with_flow + without)
                and body["metrics"]["opel.level"]["date"] is not None
                and body["metrics"]["handover.arrivals"]["windows"]["24h"] > 0)  # fmt: skip

        await wait_until(applied, timeout=90)
        want = expected_values(with_flow, hos, sitreps[0], now, spaces)
        body = await get(api, "/v1/opel/org/RX1")
        assert body["framework"] == "2024-26"
        assert body["declared"] == {"level": 2, "date": yesterday.isoformat()}
        got = {p["name"]: p for p in body["parameters"]}
        assert set(got) == set(want)
        points = weight = 0.0
        for name, (value, count) in want.items():
            assert value is not None, name  # every input was exercised
            tol = 0.01 * value if name == "time_to_treatment" else 0.006  # sketch: 1%; rounding
            assert got[name]["value"] == pytest.approx(value, abs=tol), name
            assert got[name]["points"] == points_from_config(name, got[name]["value"]), name
            assert got[name]["count"] == count, name
            few = count is not None and count < (got[name]["min_count"] or 0)
            assert got[name]["status"] == ("too_few" if few else "counted"), name
            if not few:
                points += got[name]["points"] * got[name]["weight"]
                weight += got[name]["weight"]
        assert body["coverage"]["weight_counted"] == weight
        if weight < 0.75 * 11:  # at night, since-midnight parameters may rest on too few
            assert (body["score"], body["level"]) == (None, None)
        else:
            assert body["score"] == pytest.approx(points / weight, abs=0.001)
            shares = [p["contribution"] for p in body["parameters"] if p["status"] == "counted"]
            assert round(sum(shares), 3) == body["score"]
            assert body["level"] == 1 + sum(body["score"] >= c for c in body["cut_offs"].values())

        # A trust without the optional flow fields shows them missing, never zero, and is left
        # without a level: 7.5 of 11 of the weight is under the 75% needed.
        bare_body = await get(api, "/v1/opel/org/RWE")
        bare = {p["name"]: p for p in bare_body["parameters"]}
        for name in ("majors_resus_occupancy", "time_to_treatment", "referred", "ga_occupancy"):
            assert (bare[name]["value"], bare[name]["points"]) == (None, None), name
            assert bare[name]["status"] == "missing", name
        assert bare["majors_resus_occupancy"]["reason"].startswith("no majors and resus spaces")
        assert bare["ga_occupancy"]["reason"] == "no SitRep submitted yet"
        assert bare["four_hour"]["value"] is not None
        assert bare_body["level"] is None and bare_body["reason"].startswith("insufficient inputs")

        region = await get(api, "/v1/opel/region/Y60")
        by_code = {o["code"]: o for o in region["organisations"]}
        assert by_code["RX1"]["computed_level"] == body["level"]
        assert by_code["RX1"]["declared"]["level"] == 2
        assert sum(region["declared"].values()) == len(region["organisations"])
        assert region["declared"]["2"] >= 1
        national = await get(api, "/v1/opel/national")
        assert sum(national["computed"].values()) == len(ref.with_role("acute"))
        async with api.client() as c:
            assert (await c.get("/v1/opel/org/RX9")).status_code == 404  # an ambulance service


async def test_the_league_places_each_provider_by_its_own_counts(
    settings: Settings, ref: ReferenceData
) -> None:
    now = int(time.time() * 1000) - MINUTE
    start = (now - 3 * HOUR) // (15 * MINUTE) * (15 * MINUTE)
    providers = [o.code for o in ref.with_role("nhs111")][:6]
    counts = {}
    records = []
    for i, code in enumerate(providers):
        answered = 200 + 40 * i
        within = answered - 30 * i - (150 if i == 5 else 0)
        counts[code] = (within, answered)
        records.append({"provider": code, "interval_start": iso(start), "calls_received": answered + 10,
                        "calls_answered": answered, "answered_within_60s": within, "abandoned": 10,
                        "ambulance_dispositions": 5, "ed_dispositions": 7})  # fmt: skip
    async with running_api(settings, clock_ms=lambda: now) as api, running_worker(settings):
        await push(api, "nhs111-interval", "provider", records)

        async def applied() -> bool:
            body = await get(api, "/v1/metrics/national")
            return bool(body["metrics"]["nhs111.calls_answered"]["windows"]["24h"] == sum(a for _, a in counts.values()))  # fmt: skip

        await wait_until(applied, timeout=60)
        body = await get(api, "/v1/league", metric="nhs111.answered_within_60s_pct", window="4h")
        units = {u["code"]: u for u in body["units"]}
        assert set(units) == set(providers)
        assert body["no_data"] == sorted(
            o.code for o in ref.with_role("nhs111") if o.code not in providers
        )
        pooled = sum(w for w, _ in counts.values()) / sum(a for _, a in counts.values())
        assert body["target"] == pytest.approx(100 * pooled, abs=1e-3)
        for code, (within, answered) in counts.items():
            u = units[code]
            assert (u["numerator"], u["denominator"]) == (within, answered)
            assert u["value"] == pytest.approx(100 * within / answered, abs=1e-3)
            lim = u["limits"]
            assert (
                lim["lower998"] < lim["lower95"] < body["target"] < lim["upper95"] < lim["upper998"]
            )
            inside = lim["lower998"] <= u["value"] <= lim["upper998"]
            assert u["flag"] == (
                "within" if inside else "above" if u["value"] > lim["upper998"] else "below"
            )
            plain = u["unadjusted_limits"]  # τ² = 0: sin²(θ ± z / (2√n)), by hand
            theta = math.asin(math.sqrt(pooled))
            for key, z in (("upper998", 3.090232306167813), ("lower95", -1.959963984540054)):
                by_hand = 100 * math.sin(theta + z / (2 * math.sqrt(answered))) ** 2
                assert plain[key] == pytest.approx(by_hand, abs=1e-3), (code, key)
            plain_inside = plain["lower998"] <= u["value"] <= plain["upper998"]
            assert u["flag_unadjusted"] == ("within" if plain_inside else "above" if u["value"] > plain["upper998"] else "below")  # fmt: skip
            assert u["marked"] == (inside and not plain_inside)
        assert body["overdispersion"]["adjusted"] == (body["overdispersion"]["tau2"] > 0)
        assert body["overdispersion"]["phi"] > 1  # provider 5 differs far beyond chance
        assert "FunnelPlotR" in body["method"] and "Spiegelhalter" in body["method"]
        assert {"denominator", "upper998", "unadjusted"} <= set(body["curve"][0])
        assert [u["name"] for u in body["units"]] == sorted(u["name"] for u in body["units"])
        assert "rank" not in str(body)
        async with api.client() as c:
            r = await c.get("/v1/league", params={"metric": "ed.four_hour_pct", "kind": "nhs111"})
            assert r.status_code == 400 and "kind" in r.text


async def test_forecasts_are_served_with_the_accuracy_a_known_series_must_have(
    settings: Settings, ref: ReferenceData
) -> None:
    # Three days of hourly ED arrivals at one trust: a daily shape, 10 more on the middle day.
    # Seasonal naive is then off by exactly 10 every held-out hour, as in training: MASE 1.
    now = int(time.time() * 1000) - MINUTE
    current = now // HOUR
    rng = random.Random(3)
    eds = []
    for hour in range(current - 72, current):
        n = 3 + (hour % 24) // 4 + 10 * (((hour - (current - 72)) // 24) == 1)
        for k in range(n):
            eds.append({"attendance_id": f"F{hour}-{k}", "trust": "RX1", "site": "RX1RA", "department_type": 1,
                        "arrival_mode": "walk_in", "arrived_at": iso(hour * HOUR + rng.randrange(HOUR))})  # fmt: skip
    async with running_api(settings, clock_ms=lambda: now) as api, running_worker(settings):
        await push(api, "ed-attendance", "trust", eds)

        async def applied() -> bool:
            body = await get(api, "/v1/metrics/org/RX1")
            return bool(body["metrics"]["ed.arrivals"]["windows"]["24h"] > 0)

        await wait_until(applied, timeout=60)
        from tests.harness import caught_up

        await caught_up(settings)
        services = build(settings, CollectorRegistry(), clock_ms=lambda: now)
        try:
            assert await services.forecasts.refresh() > 0
        finally:
            await services.close()
        body = await get(api, "/v1/forecast", metric="ed.arrivals", scope="org/RX1")
        assert body["history_hours"] == 72 and body["missing_hours"] == 0
        day_naive, *others = body["baselines"]
        assert not others  # "the same hour last week" needs two weeks
        assert day_naive["method"] == "seasonal_naive_24"
        assert day_naive["mase"] == pytest.approx(1.0)
        assert day_naive["evaluated_hours"] == 24
        accuracy = body["accuracy"]
        assert body["method"] == accuracy["method"] == "ets_day"  # under two weeks: daily
        assert accuracy["evaluated_hours"] == 24 and 0 <= accuracy["coverage80"] <= 1
        assert [t["hours"] for t in accuracy["totals"]] == [4, 8, 24]
        assert len(body["points"]) == 24
        assert ms(body["points"][0]["start"]) == current * HOUR
        for p in body["points"]:  # three days: enough for intervals, never of zero width
            assert 0 <= p["lower95"] <= p["lower80"] <= p["mean"] <= p["upper80"] <= p["upper95"]
            assert p["upper80"] > p["lower80"]
        assert [t["hours"] for t in body["totals"]] == [4, 8, 24]
        assert not math.isnan(body["totals"][0]["mean"])
        async with api.client() as c:
            assert (
                await c.get("/v1/forecast", params={"metric": "ed.arrivals", "scope": "org/RX9"})
            ).status_code == 404
            assert (
                await c.get("/v1/forecast", params={"metric": "ed.departures"})
            ).status_code == 400
