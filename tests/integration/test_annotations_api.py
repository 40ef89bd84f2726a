"""`GET/POST /v1/annotations` on a real Valkey: notes by scope, metric and time, by a named viewer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.settings import Settings
from tests.harness import running_api
from tests.integration.test_acks_api import viewer

pytestmark = pytest.mark.timeout(120)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


async def test_notes_are_found_by_scope_metric_and_time_newest_first(settings: Settings) -> None:
    now = datetime.now(UTC).replace(microsecond=0)  # notes keep milliseconds
    async with running_api(settings) as api, api.client(await viewer(api)) as jo:
        outage = {"scope": "org/RWE", "metric": "ed.four_hour_pct", "text": "ED IT outage",
                  "at": iso(now - timedelta(hours=3)), "until": iso(now - timedelta(hours=1))}  # fmt: skip
        divert = {
            "scope": "region/Y60",
            "text": "Divert agreed",
            "at": iso(now - timedelta(hours=2)),
        }
        old = {"scope": "org/RWE", "metric": "ed.four_hour_pct", "text": "Last week",
               "at": iso(now - timedelta(days=8))}  # fmt: skip
        for doc in (outage, divert, old):
            r = await jo.post("/v1/annotations", json=doc)
            assert r.status_code == 201, r.text
        created = r.json()
        assert created["by"] == "Jo Bloggs" and created["job_role"] == "Regional on-call"
        recent = (await jo.get("/v1/annotations")).json()["annotations"]
        assert [n["text"] for n in recent] == ["Divert agreed", "ED IT outage"]  # 7 days back
        rwe = (await jo.get("/v1/annotations", params={"scope": "org/RWE"})).json()
        assert [n["text"] for n in rwe["annotations"]] == ["ED IT outage"]
        assert rwe["annotations"][0]["until"] == outage["until"]
        week = iso(now - timedelta(days=10))
        both = await jo.get(
            "/v1/annotations",
            params={"scope": "org/RWE", "metric": "ed.four_hour_pct", "from": week},
        )
        assert [n["text"] for n in both.json()["annotations"]] == ["ED IT outage", "Last week"]
        async with api.client() as anyone:
            assert (await anyone.get("/v1/annotations")).status_code == 200  # reading is open
            assert (await anyone.post("/v1/annotations", json=divert)).status_code == 401


@pytest.mark.parametrize(
    ("doc", "status", "field"),
    [
        ({"text": "no scope"}, 400, "scope"),
        ({"scope": "org/NOPE", "text": "x"}, 404, None),
        ({"scope": "org/RWE", "metric": "nope", "text": "x"}, 400, "metric"),
        ({"scope": "org/RWE", "text": ""}, 400, "text"),
        ({"scope": "org/RWE", "text": "x", "at": "yesterday"}, 400, "at"),
        ({"scope": "org/RWE", "text": "x", "at": "2099-01-01T00:00:00Z"}, 400, "at"),
        (
            {
                "scope": "org/RWE",
                "text": "x",
                "at": "2026-01-02T10:00:00Z",
                "until": "2026-01-02T09:00:00Z",
            },
            400,
            "until",
        ),
    ],
)
async def test_a_bad_note_is_refused_naming_the_field(
    settings: Settings, doc: dict[str, str], status: int, field: str | None
) -> None:
    async with running_api(settings) as api, api.client(await viewer(api)) as jo:
        r = await jo.post("/v1/annotations", json=doc)
        assert r.status_code == status, r.text
        if field:
            assert [e["field"] for e in r.json()["errors"]] == [field]
        assert (await jo.post("/v1/annotations", content=b"[1]")).status_code == 400
