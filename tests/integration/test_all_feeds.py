"""All six feeds from push to served metrics, on a real broker and Redis, against a reference.

Random records go through the HTTP API as JSON, NDJSON and CSV, then new versions (events that
progress or move between windows and scopes, refreshed 111 intervals, amended SitReps) and
identical resends; every metric at every scope must then equal `tests.reference`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from hub.domain.feeds import FEEDS
from hub.domain.orgs import ReferenceData
from hub.domain.windows import LONDON
from hub.settings import Settings
from tests.harness import RunningApi, running_api, running_worker, wait_until
from tests.reference import ORG_FIELD, close, expected_metrics, ms

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

MINUTE, HOUR, FORMATS = 60_000, 3_600_000, ("application/json", "application/x-ndjson", "text/csv")
CATEGORIES = ["C1"] + ["C2"] * 6 + ["C3"] * 3 + ["C4"]
OUTCOMES = [
    None,
    "hear_and_treat",
    "see_and_treat",
    "see_and_convey",
    "see_and_convey",
    "cancelled",
]
NO_RESPONSE = ("hear_and_treat", "cancelled")  # outcomes that close an incident without one
Rec = dict[str, Any]


class Gen:
    """Random times and choices around a fixed `now`, written as ISO 8601 in several styles."""

    def __init__(self, rng: random.Random, ref: ReferenceData, now: int) -> None:
        self.rng, self.ref, self.now = rng, ref, now
        self.sites = sorted(ref.sites)
        self.today = datetime.fromtimestamp(now / 1000, tz=UTC).astimezone(LONDON).date()

    def before(self, hours: float) -> int:
        return self.now - self.rng.randrange(0, int(hours * HOUR))

    def after(self, at: int, low_minutes: float, high_minutes: float) -> int:
        return min(self.now, at + self.rng.randrange(int(low_minutes * MINUTE), int(high_minutes * MINUTE)))  # fmt: skip

    def stamp(self, at: int) -> str:
        """Write an instant with Z, with its London offset, or as naive London time when unambiguous."""
        instant = datetime.fromtimestamp(at // 1000, tz=UTC)
        local = instant.astimezone(LONDON)
        style = self.rng.random()
        naive = local.replace(tzinfo=None)
        offsets = {naive.replace(tzinfo=LONDON, fold=f).utcoffset() for f in (0, 1)}
        if style < 0.2 and len(offsets) == 1:  # not in an hour the clocks skip or repeat
            return naive.isoformat()
        if style < 0.4:
            return local.isoformat()
        return instant.strftime("%Y-%m-%dT%H:%M:%SZ")

    def orgs(self, role: str) -> list[str]:
        return [o.code for o in self.ref.with_role(role)]

    def day(self, back: int) -> str:
        return (self.today - timedelta(days=back)).isoformat()


def handover(g: Gen, n: int) -> Rec:
    arrived = g.before(26)
    r: Rec = {"handover_id": f"H{n}", "ambulance_trust": g.rng.choice(g.orgs("ambulance")), "site": g.rng.choice(g.sites),
              "arrived_at": g.stamp(arrived), "handover_at": None, "clear_at": None}  # fmt: skip
    if g.rng.random() < 0.75:
        done = g.after(arrived, 1, 200)
        r["handover_at"] = g.stamp(done)
        r["clear_at"] = g.stamp(g.after(done, 0, 20)) if g.rng.random() < 0.8 else None
    return r


def incident(g: Gen, n: int) -> Rec:
    start = g.before(26)
    r: Rec = {"incident_id": f"I{n}", "ambulance_trust": g.rng.choice(g.orgs("ambulance")), "category": g.rng.choice(CATEGORIES),
              "clock_start_at": g.stamp(start), "first_arrival_at": None, "outcome": g.rng.choice(OUTCOMES),
              "conveyed_to_site": None}  # fmt: skip
    if g.rng.random() < 0.8 and r["outcome"] not in NO_RESPONSE:
        r["first_arrival_at"] = g.stamp(g.after(start, 0, 300))  # some reached after 4 hours
    if r["outcome"] == "see_and_convey" and g.rng.random() < 0.8:
        r["conveyed_to_site"] = g.rng.choice(g.sites)
    return r


def attendance(g: Gen, n: int) -> Rec:
    site = g.ref.sites[g.rng.choice(g.sites)]
    arrived = g.before(50)  # some beyond the 48-hour horizon of the in-department gauge
    r: Rec = {"attendance_id": f"A{n}", "trust": site.trust, "site": site.code,
              "department_type": g.rng.choice(["1", "1", "2", "3"]), "arrival_mode": g.rng.choice(["ambulance", "walk_in", "other"]),
              "arrived_at": g.stamp(arrived), "decision_to_admit_at": None, "departed_at": None}  # fmt: skip
    last = arrived
    if g.rng.random() < 0.3:
        last = g.after(arrived, 10, 900)
        r["decision_to_admit_at"] = g.stamp(last)
    if g.rng.random() < 0.8:
        r["departed_at"] = g.stamp(g.after(last, 5, 16 * 60))
    if g.rng.random() < 0.6:  # the optional flow fields, sent by some trusts only
        r["ed_area"] = g.rng.choice(["resus", "majors", "minors", "other"])
        seen = g.after(arrived, 0, 30)
        if r["departed_at"] is None or seen <= ms(r["departed_at"]):
            r["seen_at"] = g.stamp(seen)
        if g.rng.random() < 0.3:
            r["referred_at"] = g.stamp(g.after(arrived, 30, 60))
    return r


def interval(g: Gen, provider: str, start: int) -> Rec:
    received = g.rng.randrange(0, 60)
    answered = g.rng.randrange(0, received + 1)
    return {"provider": provider, "interval_start": g.stamp(start), "calls_received": received,
            "calls_answered": answered, "answered_within_60s": g.rng.randrange(0, answered + 1),
            "abandoned": g.rng.randrange(0, received - answered + 1),
            "ambulance_dispositions": answered // 8, "ed_dispositions": answered // 11,
            "clinical_input": g.rng.choice([None, answered // 3])}  # fmt: skip


def acute_sitrep(g: Gen, trust: str, back: int) -> Rec:
    r = g.rng.randrange
    available, escalation, cc = r(50, 1500), r(0, 60), r(0, 40)
    occupied = r(0, available + escalation + 1)
    return {"trust": trust, "date": g.day(back), "ga_beds_available": available, "ga_beds_occupied": occupied,
            "escalation_beds": escalation, "cc_beds_available": cc, "cc_beds_occupied": r(0, cc + 1),
            "beds_closed_dv": r(0, 20), "ed_diverts": r(0, 3), "long_stay_21plus": occupied // 7,
            "no_criteria_to_reside": occupied // 6, "opel_level": r(1, 5)}  # fmt: skip


def ambulance_sitrep(g: Gen, service: str, back: int) -> Rec:
    r, u = g.rng.randrange, g.rng.uniform
    handovers = r(0, 2000)
    return {"ambulance_trust": service, "date": g.day(back), "calls_answered": r(0, 5000),
            "incidents_c1": r(0, 300), "incidents_c2": r(0, 2000), "incidents_c3": r(0, 900), "incidents_c4": r(0, 150),
            "c1_mean_s": round(u(300, 700), 1), "c1_p90_s": round(u(600, 1400), 1), "c2_mean_s": round(u(900, 3000), 1),
            "c2_p90_s": round(u(2000, 7000), 1), "c3_p90_s": round(u(5000, 20000), 1), "c4_p90_s": round(u(8000, 25000), 1),
            "handovers": handovers, "handovers_over_30": r(0, handovers + 1), "handovers_over_60": r(0, handovers + 1) // 3,
            "hours_lost": round(u(0, 600), 1)}  # fmt: skip


def daily(g: Gen, role: str, make: Any) -> list[Rec]:
    """Return returns for the last five days with gaps, so latest dates and coverage vary."""
    return [make(g, org, back) for org in g.orgs(role) for back in range(1, 6) if g.rng.random() < 0.7]  # fmt: skip


def originals(g: Gen) -> dict[str, list[Rec]]:
    quarter = 15 * MINUTE
    quarters = range((g.now - 26 * HOUR) // quarter * quarter, g.now - quarter, quarter)
    intervals = [interval(g, o, t) for o in g.orgs("nhs111") for t in quarters if g.rng.random() < 0.9]  # fmt: skip
    return {
        "ambulance-handover": [handover(g, n) for n in range(1_500)],
        "ambulance-incident": [incident(g, n) for n in range(2_500)],
        "ed-attendance": [attendance(g, n) for n in range(2_500)],
        "nhs111-interval": intervals,
        "acute-sitrep": daily(g, "acute", acute_sitrep),
        "ambulance-sitrep": daily(g, "ambulance", ambulance_sitrep),
    }


def correct(g: Gen, feed: str, r: Rec) -> Rec:
    """Return a new version: progressed, moved in time or between scopes, refreshed or amended."""
    if feed == "ambulance-handover":
        new = handover(g, 0) | {k: r[k] for k in ("handover_id", "ambulance_trust")}
        return new if g.rng.random() < 0.5 else r | {"site": g.rng.choice(g.sites)}
    if feed == "ambulance-incident":
        if r["first_arrival_at"] is None and g.rng.random() < 0.5:  # the response arrives
            arrived = g.stamp(g.after(ms(r["clock_start_at"]), 0, 60))
            return r | {"first_arrival_at": arrived, "outcome": g.rng.choice([None, "see_and_treat"])}  # fmt: skip
        fresh = incident(g, 0)  # moved in time (across window edges) and recategorised
        return fresh | {"incident_id": r["incident_id"], "ambulance_trust": r["ambulance_trust"]}
    if feed == "ed-attendance":
        if r["departed_at"] is None and g.rng.random() < 0.5:  # the patient leaves
            last = ms(r["decision_to_admit_at"] or r["arrived_at"])
            return r | {"departed_at": g.stamp(g.after(last, 5, 14 * 60))}
        site = g.rng.choice([s.code for s in g.ref.sites_of(r["trust"])])  # moved within the trust
        fresh = attendance(g, 0) | {"trust": r["trust"], "site": site}
        return fresh | {"attendance_id": r["attendance_id"]}
    if feed == "nhs111-interval":  # refreshed: calls answered after the interval closed
        late = g.rng.randrange(0, r["calls_received"] - r["calls_answered"] - r["abandoned"] + 1)
        answered, ed = r["calls_answered"] + late, r["ed_dispositions"] + late // 2
        return r | {"calls_answered": answered, "ed_dispositions": ed}
    make = acute_sitrep if feed == "acute-sitrep" else ambulance_sitrep
    back = (g.today - datetime.fromisoformat(r["date"]).date()).days
    return make(g, r[ORG_FIELD[feed]], back)  # an amended return for the same date


def encode(feed: str, records: list[Rec], media: str) -> bytes:
    if media == "application/json":
        return orjson.dumps(records)
    if media == "application/x-ndjson":
        return b"\n".join(orjson.dumps(r) for r in records) + b"\n"
    out, names = io.StringIO(), FEEDS[feed].field_names
    writer = csv.writer(out)
    writer.writerow(names)
    writer.writerows(["" if r.get(n) is None else str(r[n]) for n in names] for r in records)
    return out.getvalue().encode()


class Pusher:
    """Push records as their organisations, rotating through the three body formats."""

    def __init__(self, api: RunningApi) -> None:
        self.api, self.turn, self.gate = api, 0, asyncio.Semaphore(4)
        self.tokens: dict[str, str] = {}

    async def push(self, records: Mapping[str, list[Rec]]) -> list[dict[str, Any]]:
        jobs = []
        for feed, rs in records.items():
            by_org: dict[str, list[Rec]] = {}
            for r in rs:
                by_org.setdefault(r[ORG_FIELD.get(feed, "ambulance_trust")], []).append(r)
            for org, batch in sorted(by_org.items()):
                for i in range(0, len(batch), 300):
                    self.turn += 1
                    jobs.append(self._send(feed, org, batch[i : i + 300], FORMATS[self.turn % 3]))
        return list(await asyncio.gather(*jobs))

    async def _send(self, feed: str, org: str, batch: list[Rec], media: str) -> dict[str, Any]:
        async with self.gate:
            if org not in self.tokens:
                self.tokens[org] = await self.api.token(org)
            async with self.api.client(self.tokens[org]) as c:
                body, headers = encode(feed, batch, media), {"Content-Type": media}
                r = await c.post(f"/v1/feeds/{feed}", content=body, headers=headers)
            assert r.status_code == 200, r.text
            receipt: dict[str, Any] = r.json()
            assert receipt["rejected"] == [], receipt["rejected"][:3]
            return receipt


async def served(api: RunningApi, scope: str) -> dict[str, Any]:
    async with api.client() as c:
        r = await c.get("/v1/metrics/national" if scope == "national" else f"/v1/metrics/{scope}")
        assert r.status_code == 200, r.text
        return r.json()["metrics"]  # type: ignore[no-any-return]


def within_1pct(a: Any, b: Any) -> bool:
    """Compare a sketch's centile with the exact one: within 1% relative (SPEC §4)."""
    return a is b if a is None or b is None else abs(a - b) <= 0.01 * abs(b) + 1e-9


def mismatches(got: Mapping[str, Any], want: dict[str, Any]) -> list[str]:
    """Return a line for each metric (and window) where a served body differs from the reference."""
    out = [f"{m}: served but not in the reference" for m in sorted(set(got) - set(want))]
    out += [f"{m}: missing" for m in sorted(set(want) - set(got))]
    for metric in sorted(set(got) & set(want)):
        g, w = got[metric], want[metric]
        sketched = metric.endswith(("p90_seconds", "median_minutes"))
        same = within_1pct if sketched else close
        if "windows" in g:
            wrong = {k: (g["windows"][k], v) for k, v in w.items() if not same(g["windows"][k], v)}
            out += [f"{metric}[{k}]: served {a!r}, expected {b!r}" for k, (a, b) in wrong.items()]
        elif "date" in g:
            value = {"value": g["value"], "date": g["date"], "coverage": g["coverage"]}
            if any(not close(value[k], w[k]) for k in w):
                out.append(f"{metric}: served {value!r}, expected {w!r}")
        elif not close(g["value"], w):
            out.append(f"{metric}: served {g['value']!r}, expected {w!r}")
    return out


async def test_every_metric_of_every_feed_at_every_scope_matches_an_independent_computation(
    settings: Settings, ref: ReferenceData
) -> None:
    rng = random.Random(20261124)
    now = int(time.time() * 1000) - MINUTE
    frozen = now + 30_000
    g = Gen(rng, ref, now)
    records = originals(g)
    async with running_api(settings, clock_ms=lambda: frozen) as api, running_worker(settings), running_worker(settings):  # fmt: skip
        pusher = Pusher(api)
        await pusher.push(records)
        latest = {feed: {i: r for i, r in enumerate(rs)} for feed, rs in records.items()}
        corrections: dict[str, list[Rec]] = {}
        for feed, rs in records.items():
            chosen = rng.sample(range(len(rs)), len(rs) // 5)
            corrections[feed] = [correct(g, feed, rs[i]) for i in sorted(chosen)]
            latest[feed].update(zip(sorted(chosen), corrections[feed], strict=True))
        await pusher.push(corrections)
        final = {feed: list(by_index.values()) for feed, by_index in latest.items()}
        expected = expected_metrics(final, ref, frozen)

        async def caught_up() -> bool:
            return not mismatches(await served(api, "national"), expected["national"])

        await wait_until(caught_up, timeout=120, interval=1.0)

        # An identical resend changes nothing, whatever format carries it, and the receipt says so.
        resend = {feed: rng.sample(rs, min(len(rs), 150)) for feed, rs in final.items()}
        receipts, total = await pusher.push(resend), sum(len(rs) for rs in resend.values())
        assert sum(r["unchanged"] for r in receipts) == total
        assert sum(r["accepted"] for r in receipts) == total

        problems: list[str] = []
        for scope, want in expected.items():
            problems += [f"{scope} {p}" for p in mismatches(await served(api, scope), want)]
        assert problems == []
        national = expected["national"]
        assert national["ed.arrivals"]["24h"] > 1_000  # the test exercised real volume
        assert national["ambulance.incidents"]["24h"] > 1_000
        assert national["opel.level"]["coverage"]["submitted"] > 10
