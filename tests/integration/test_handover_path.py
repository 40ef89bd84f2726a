"""Handovers from push to served metrics, on a real broker and Redis, against a reference."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from hub.domain.orgs import ReferenceData
from hub.settings import Settings
from tests.harness import RunningApi, running_api, running_worker, wait_until
from tests.reference import close, handover_metrics

pytestmark = pytest.mark.timeout(240)

HANDOVER_METRICS = [
    "handover.arrivals",
    "handover.completed",
    "handover.over_15",
    "handover.over_30",
    "handover.over_45",
    "handover.over_60",
    "handover.mean_minutes",
    "handover.hours_lost",
]


def iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def random_handover(rng: random.Random, ref: ReferenceData, now: int, n: int) -> dict[str, Any]:
    site = rng.choice(sorted(ref.sites))
    arrived = now - rng.randrange(0, 26 * 3_600_000)
    record: dict[str, Any] = {
        "handover_id": f"H{n}",
        "ambulance_trust": rng.choice(AMBULANCE),
        "site": site,
        "arrived_at": iso(arrived),
    }
    if rng.random() < 0.75:
        handover = min(now, arrived + rng.randrange(60_000, 200 * 60_000))
        record["handover_at"] = iso(handover)
        if rng.random() < 0.8:
            record["clear_at"] = iso(min(now, handover + rng.randrange(0, 20 * 60_000)))
    return record


def correct(
    rng: random.Random, ref: ReferenceData, record: dict[str, Any], now: int
) -> dict[str, Any]:
    """Return a new version: moved in time, moved to another site, or completed."""
    new = dict(record)
    kind = rng.choice(["shift", "site", "complete"])
    arrived = int(
        datetime.fromisoformat(record["arrived_at"].replace("Z", "+00:00")).timestamp() * 1000
    )
    if kind == "complete" or "handover_at" not in record:
        new["handover_at"] = iso(min(now, arrived + rng.randrange(60_000, 90 * 60_000)))
        new.pop("clear_at", None)
    elif kind == "shift":
        # Moves the record across window edges: 15m, 1h and 4h boundaries all get crossed.
        delta = rng.choice([-5, -3, -1, 1]) * 3_600_000 + rng.randrange(-600_000, 600_000)
        arrived = max(now - 30 * 3_600_000, min(now - 3_600_000, arrived + delta))
        new["arrived_at"] = iso(arrived)
        new["handover_at"] = iso(min(now, arrived + rng.randrange(60_000, 100 * 60_000)))
        new.pop("clear_at", None)
    else:
        new["site"] = rng.choice(sorted(ref.sites))
    return new


AMBULANCE = ["RX6", "RX7", "RX8", "RX9", "RYA", "RYC", "RRU", "RYD", "RYE", "RYF", "R1F"]


async def push(
    api: RunningApi, tokens: dict[str, str], records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    by_org: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_org.setdefault(r["ambulance_trust"], []).append(r)
    receipts = []
    for org, batch in by_org.items():
        async with api.client(tokens[org]) as c:
            for i in range(0, len(batch), 500):
                r = await c.post(
                    "/v1/feeds/ambulance-handover",
                    content=orjson.dumps(batch[i : i + 500]),
                    headers={"Content-Type": "application/json"},
                )
                assert r.status_code == 200, r.text
                receipts.append(r.json())
    return receipts


async def served(api: RunningApi, scope: str) -> dict[str, Any]:
    async with api.client() as c:
        path = "/v1/metrics/national" if scope == "national" else f"/v1/metrics/{scope}"
        r = await c.get(path)
        assert r.status_code == 200, r.text
        return r.json()["metrics"]  # type: ignore[no-any-return]


def all_scopes(ref: ReferenceData) -> list[str]:
    scopes = ["national"] + [f"region/{r}" for r in ref.regions]
    scopes += [
        f"org/{o.code}" for o in ref.organisations.values() if {"acute", "ambulance"} & set(o.roles)
    ]
    return scopes + [f"site/{s}" for s in ref.sites]


def mismatches(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    out = []
    for metric in HANDOVER_METRICS:
        for window, value in want[metric].items():
            if not close(got[metric]["windows"][window], value):
                out.append(
                    f"{metric}[{window}]: served {got[metric]['windows'][window]!r}, expected {value!r}"
                )
    for gauge in ("handover.waiting_now", "handover.longest_wait_minutes"):
        if not close(got[gauge]["value"], want[gauge]):
            out.append(f"{gauge}: served {got[gauge]['value']!r}, expected {want[gauge]!r}")
    return out


def empty_reference() -> dict[str, Any]:
    windows = {w: 0 for w in ("15m", "1h", "4h", "24h")}
    m: dict[str, Any] = {k: dict(windows) for k in HANDOVER_METRICS}
    m["handover.mean_minutes"] = {w: None for w in windows}
    m["handover.hours_lost"] = {w: 0.0 for w in windows}
    m["handover.waiting_now"] = 0
    m["handover.longest_wait_minutes"] = None
    return m


async def test_every_handover_metric_at_every_scope_matches_an_independent_computation(
    settings: Settings, ref: ReferenceData
) -> None:
    rng = random.Random(20261123)
    now = int(time.time() * 1000) - 60_000
    frozen = now + 30_000
    records = [random_handover(rng, ref, now, n) for n in range(3_000)]
    async with (
        running_api(settings, clock_ms=lambda: frozen) as api,
        running_worker(settings),
        running_worker(settings),
    ):
        tokens = {org: await api.token(org) for org in AMBULANCE}
        await push(api, tokens, records)

        # New versions: moved across windows, moved between sites, and arrivals later completed.
        latest = {r["handover_id"]: r for r in records}
        for r in rng.sample(records, 600):
            latest[r["handover_id"]] = correct(rng, ref, latest[r["handover_id"]], now)
        originals = {r["handover_id"]: r for r in records}
        corrections = [v for k, v in sorted(latest.items()) if v is not originals[k]]
        await push(api, tokens, corrections)

        expected = handover_metrics(latest.values(), ref, frozen)

        async def caught_up() -> bool:
            got = await served(api, "national")
            return not mismatches(got, expected["national"])

        await wait_until(caught_up, timeout=90)

        # An identical resend changes nothing, and the receipt says so.
        resend = rng.sample(list(latest.values()), 400)
        receipts = await push(api, tokens, resend)
        assert sum(r["unchanged"] for r in receipts) == 400
        assert sum(r["accepted"] for r in receipts) == 400

        problems: list[str] = []
        for scope in all_scopes(ref):
            got = await served(api, scope)
            want = expected.get(scope, empty_reference())
            problems += [f"{scope} {p}" for p in mismatches(got, want)]
        assert problems == []
        assert (
            expected["national"]["handover.arrivals"]["24h"] > 2_000
        )  # the test exercised real volume


async def test_a_record_for_an_unknown_site_is_rejected_with_the_field_named(
    settings: Settings,
) -> None:
    async with running_api(settings) as api:
        token = await api.token("RX9")
        async with api.client(token) as c:
            body = [
                {
                    "handover_id": "X1",
                    "ambulance_trust": "RX9",
                    "site": "ZZZ99",
                    "arrived_at": iso(int(time.time() * 1000) - 60_000),
                }
            ]
            r = await c.post("/v1/feeds/ambulance-handover", json=body)
    assert r.status_code == 422
    receipt = r.json()
    assert receipt["accepted"] == 0
    assert [e["field"] for e in receipt["rejected"][0]["errors"]] == ["site"]
    assert receipt["rejected"][0]["index"] == 0
