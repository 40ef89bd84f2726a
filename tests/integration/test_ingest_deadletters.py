"""Every rejected record reaches the dead-letter topic; each organisation lists only its own.

Receipts, letters and the rejection lists have a largest size, whatever was sent (issue 27).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from hub.adapters.kafka.topics import deadletter_topic
from hub.adapters.redis.keys import Keys
from hub.domain.receipts import LISTED as RECEIPT_LISTED
from hub.services.ingest import LISTED
from hub.settings import Settings
from tests.harness import RunningApi, read_to_end, running_api

pytestmark = pytest.mark.timeout(120)


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


async def dead_letters(settings: Settings, expected: int) -> list[Any]:
    """Return every letter on the dead-letter topic (the API wrote them before answering)."""
    letters = [
        orjson.loads(m.value) for m in await read_to_end(settings, deadletter_topic(settings))
    ]
    assert len(letters) >= expected
    return letters


async def post(api: RunningApi, token: str, body: bytes, content_type: str) -> Any:
    async with api.client(token) as c:
        r = await c.post(
            "/v1/feeds/ambulance-handover", content=body, headers={"Content-Type": content_type}
        )
    assert r.status_code in (200, 422), r.text
    return r.json()


async def test_every_rejected_record_reaches_the_dead_letter_topic_with_its_reasons(
    settings: Settings,
) -> None:
    arrived = ago(20)
    csv_body = (
        "handover_id,ambulance_trust,site,arrived_at\n"
        f"D1,RX9,R1H12,{arrived}\n"
        f"D2,RX9,NOPE1,{arrived}\n"
        "D3,RX9\n"
    ).encode()
    ndjson_body = b'{"handover_id": "D4", "ambulance_trust": "RYA"}\n[1, 2]\n{oops\n'
    async with running_api(settings) as api:
        rx9, rya = await api.token("RX9"), await api.token("RYA")
        csv_receipt = await post(api, rx9, csv_body, "text/csv")
        nd_receipt = await post(api, rya, ndjson_body, "application/x-ndjson")
        letters = await dead_letters(settings, expected=5)

    assert len(letters) == 5
    by_key = {(x["org"], x["index"]): x for x in letters}
    assert set(by_key) == {("RX9", 1), ("RX9", 2), ("RYA", 0), ("RYA", 1), ("RYA", 2)}
    for letter in letters:
        assert letter["feed"] == "ambulance-handover"
        assert letter["reason"] == "invalid record"
        assert letter["errors"], letter
    site = by_key[("RX9", 1)]
    assert site["source"] == f"api:{csv_receipt['submission_id']}"
    assert site["original"] == {
        "handover_id": "D2",
        "ambulance_trust": "RX9",
        "site": "NOPE1",
        "arrived_at": arrived,
    }
    assert (site["line"], site["key"]) == (3, "RX9|D2")
    assert [field for field, _ in site["errors"]] == ["site"]
    assert by_key[("RX9", 2)]["original"] == ["D3", "RX9"]  # a short row, kept as its cells
    assert by_key[("RYA", 0)]["source"] == f"api:{nd_receipt['submission_id']}"
    assert by_key[("RYA", 0)]["original"] == {"handover_id": "D4", "ambulance_trust": "RYA"}
    assert by_key[("RYA", 1)]["original"] == [1, 2]
    assert by_key[("RYA", 2)]["original"] == "{oops"


async def test_rejections_lists_only_the_callers_organisation_newest_first(
    settings: Settings,
) -> None:
    def bad(n: int, org: str) -> dict[str, Any]:
        return {"handover_id": f"R{n}", "ambulance_trust": org, "site": "X", "arrived_at": ago(5)}

    async with running_api(settings) as api:
        rx9, rya = await api.token("RX9"), await api.token("RYA")
        viewer = await api.token("RX9", role="viewer")
        await post(api, rx9, orjson.dumps([bad(1, "RX9"), bad(2, "RX9")]), "application/json")
        await post(api, rya, orjson.dumps([bad(3, "RYA")]), "application/json")
        await post(api, rx9, orjson.dumps([bad(4, "RX9")]), "application/json")

        async def listed(token: str, query: str = "") -> Any:
            async with api.client(token) as c:
                r = await c.get(f"/v1/rejections{query}")
            assert r.status_code == 200, r.text
            return r.json()

        mine = await listed(rx9)
        assert mine["org"] == "RX9"
        assert mine["rejections"][0]["key"] == "RX9|R4"  # the newest first
        assert {x["key"] for x in mine["rejections"]} == {"RX9|R1", "RX9|R2", "RX9|R4"}
        assert all(x["errors"] and x["original"] for x in mine["rejections"])
        assert [x["key"] for x in (await listed(rya))["rejections"]] == ["RYA|R3"]
        assert len((await listed(rx9, "?limit=2"))["rejections"]) == 2
        assert (await listed(rx9, "?feed=ed-attendance"))["rejections"] == []
        assert len((await listed(viewer))["rejections"]) == 3  # a viewer of RX9 sees RX9's

        async with api.client(api.settings.admin_token) as c:
            assert (await c.get("/v1/rejections")).status_code == 403
        async with api.client() as c:
            assert (await c.get("/v1/rejections")).status_code == 401


async def test_an_all_rejected_flood_is_all_dead_lettered_but_listed_only_up_to_the_bound(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    flood = 2_500
    body = orjson.dumps([
        {"handover_id": f"F{n}", "ambulance_trust": "RX9", "site": "X", "arrived_at": ago(5)}
        for n in range(flood)
    ])  # fmt: skip
    async with running_api(settings) as api:
        rx9 = await api.token("RX9")
        receipt = await post(api, rx9, body, "application/json")
        later = await post(
            api,
            rx9,
            orjson.dumps([{"handover_id": "LAST", "ambulance_trust": "RX9"}]),
            "application/json",
        )
        async with api.client(rx9) as c:
            newest = (await c.get("/v1/rejections", params={"limit": 1})).json()["rejections"]
    # The receipt lists the first LISTED in full and counts the rest, by field; the topic
    # has every one.
    assert receipt["received"] == flood and receipt["accepted"] == 0
    assert [r["index"] for r in receipt["rejected"]] == list(range(RECEIPT_LISTED))
    assert receipt["rejected_more"] == {
        "records": flood - RECEIPT_LISTED,
        "by_field": [
            {
                "field": "site",
                "records": flood - RECEIPT_LISTED,
                "example": "site (X) is not a known hospital site code",
            }
        ],
    }
    assert len(await dead_letters(settings, expected=flood + 1)) == flood + 1
    assert await redis_client.zcard(Keys(settings.key_prefix).rejections("RX9")) == LISTED
    assert len(later["rejected"]) == 1 and newest[0]["key"] == "RX9|LAST"


async def test_five_thousand_empty_records_earn_a_bounded_receipt_that_counts_them_all(
    settings: Settings,
) -> None:
    body = b"[" + b",".join([b"{}"] * 5_000) + b"]"
    async with running_api(settings) as api:
        receipt = await post(api, await api.token("RX9"), body, "application/json")
    assert len(orjson.dumps(receipt)) < 300_000  # was 1.3 MB: every rejection listed in full
    assert receipt["received"] == 5_000
    listed = len(receipt["rejected"])
    assert 0 < listed <= RECEIPT_LISTED
    more = receipt["rejected_more"]
    assert listed + more["records"] == 5_000  # every record counted, listed or not
    counts = {f["field"]: f["records"] for f in more["by_field"]}
    for name in ("handover_id", "ambulance_trust", "site", "arrived_at"):
        assert counts[name] == more["records"]
    assert {f["example"] for f in more["by_field"]} >= {"site is required"}


async def test_a_record_of_twenty_thousand_unknown_fields_is_rejected_with_a_letter_that_fits(
    settings: Settings,
) -> None:
    record = {
        "handover_id": "WIDE",
        "ambulance_trust": "RX9",
        "site": "R1H12",
        "arrived_at": ago(5),
        **{f"field_{n}": n for n in range(20_000)},
    }
    async with running_api(settings) as api:
        receipt = await post(
            api, await api.token("RX9"), orjson.dumps([record]), "application/json"
        )
        (letter,) = await dead_letters(settings, expected=1)
    (rejection,) = receipt["rejected"]
    assert len(rejection["errors"]) == 11  # ten fields by name, then a count of the rest
    assert rejection["errors"][-1]["message"].startswith("and 19,990 more fields")
    assert len(orjson.dumps(letter)) < 256 * 1024  # was 3.3 MB: over Kafka's 1 MiB, so a 503
    assert letter["truncated"] is True and letter["original"]["truncated"] is True
    assert letter["original"]["start"].startswith('{"')


async def test_the_rejection_list_answer_stops_at_its_size_bound_and_says_so(
    settings: Settings,
) -> None:
    def bad(n: int) -> dict[str, Any]:
        return {"handover_id": f"B{n}", "ambulance_trust": "RX9", "notes": "n" * 3_000}

    body = orjson.dumps([bad(n) for n in range(LISTED)])
    async with running_api(settings) as api:
        rx9 = await api.token("RX9")
        await post(api, rx9, body, "application/json")
        async with api.client(rx9) as c:
            r = await c.get("/v1/rejections", params={"limit": 1000})
    answer = r.json()
    assert r.status_code == 200
    assert len(r.content) < 1_100_000  # 1,000 listed in full would be 3.2 MB
    assert answer["more"] is True
    assert 100 < len(answer["rejections"]) < LISTED
    kept = answer["rejections"][0]
    assert kept["truncated"] is True and len(kept["original"]["start"]) == 2_000
