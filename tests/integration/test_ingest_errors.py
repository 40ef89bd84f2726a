"""Every error class of SPEC §5, through the real HTTP service: exact status and reason.

The per-record classes of SPEC §3 are in `test_ingest_record_errors.py`, on this API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from hub.adapters.embedded import ManagedProcess
from hub.adapters.kafka.topics import ensure_topics
from hub.settings import Settings
from tests.conftest import CONFIG, unique
from tests.harness import RunningApi, running_api

pytestmark = pytest.mark.timeout(120)

PROBLEM = "application/problem+json"


def module_settings(broker: ManagedProcess, valkey: ManagedProcess, **overrides: Any) -> Settings:
    """Return settings with this module's own topics and keys on the session's services."""
    return Settings(
        kafka_bootstrap=broker.address,
        redis_url=valkey.address,
        topic_prefix=unique("t") + ".",
        key_prefix=unique("k"),
        partitions=2,
        admin_token="admin-" + unique("a"),
        kafka_send_timeout_s=3.0,
        config_dir=CONFIG,
    ).with_(**overrides)


@pytest.fixture(scope="module")
async def api(broker: ManagedProcess, valkey: ManagedProcess) -> AsyncIterator[RunningApi]:
    settings = module_settings(broker, valkey)
    await ensure_topics(settings)
    async with running_api(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def tokens(api: RunningApi) -> dict[str, str]:
    return {
        "RX9": await api.token("RX9"),
        "RX7": await api.token("RX7"),
        "R1H": await api.token("R1H"),
        "RX9-incidents-only": await api.token("RX9", feeds=["ambulance-incident"]),
        "RX9-viewer": await api.token("RX9", role="viewer"),
    }


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat().replace("+00:00", "Z")


async def post(
    api: RunningApi, token: str | None, feed: str, body: bytes, content_type: str
) -> Any:
    async with api.client(token) as c:
        return await c.post(
            f"/v1/feeds/{feed}", content=body, headers={"Content-Type": content_type}
        )


def handover(**fields: Any) -> dict[str, Any]:
    base = {
        "handover_id": "H1",
        "ambulance_trust": "RX9",
        "site": "R1H12",
        "arrived_at": ago(hours=1),
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("body", "content_type", "words", "line"),
    [
        pytest.param(
            b'[{"handover_id": "H1",\n  "site": }]',
            "application/json",
            "not valid JSON",
            2,
            id="broken JSON",
        ),
        pytest.param(
            b'{"handover_id": "H1"}',
            "application/json",
            "array",
            None,
            id="JSON that is not an array",
        ),
        pytest.param(b"", "application/json", "not valid JSON", 1, id="an empty JSON body"),
        pytest.param(
            b"handover_id,colour\nH1,red\n",
            "text/csv",
            "unknown columns 'colour'",
            1,
            id="CSV header with an unknown column",
        ),
        pytest.param(
            b"handover_id,site\n",
            "text/csv",
            "missing required columns",
            1,
            id="CSV header missing required columns",
        ),
        pytest.param(b"", "text/csv", "empty", None, id="an empty CSV body"),
        pytest.param(
            b"handover_id,site\nH1,\xff\xfe\n",
            "text/csv",
            "not UTF-8",
            2,
            id="CSV that is not UTF-8",
        ),
        pytest.param(
            b'handover_id,ambulance_trust,site,arrived_at\nH1,RX9,R1H12,"'
            + b"x" * 200_000
            + b'"\n',
            "text/csv",
            "cannot be read at line 2",
            2,
            id="CSV with a cell over the size limit",
        ),
    ],
)
async def test_an_unreadable_body_is_400_with_the_line(
    api: RunningApi,
    tokens: dict[str, str],
    body: bytes,
    content_type: str,
    words: str,
    line: int | None,
) -> None:
    r = await post(api, tokens["RX9"], "ambulance-handover", body, content_type)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["status"] == 400 and words in problem["detail"]
    assert problem.get("line") == line


async def test_a_body_without_a_token_is_401_with_a_bearer_challenge(api: RunningApi) -> None:
    r = await post(api, None, "ambulance-handover", b"[]", "application/json")
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in r.json()["detail"]


async def test_an_unknown_token_is_401(api: RunningApi) -> None:
    r = await post(api, "uec_made-up", "ambulance-handover", b"[]", "application/json")
    assert r.status_code == 401
    assert "unknown or has been revoked" in r.json()["detail"]


@pytest.mark.parametrize(
    ("who", "words"),
    [
        ("RX9-incidents-only", "may submit only ambulance-incident"),
        ("RX9-viewer", "viewer token cannot submit"),
        ("admin", "admin token cannot submit"),
    ],
)
async def test_a_token_not_allowed_the_feed_is_403(
    api: RunningApi, tokens: dict[str, str], who: str, words: str
) -> None:
    token = api.settings.admin_token if who == "admin" else tokens[who]
    r = await post(api, token, "ambulance-handover", orjson.dumps([handover()]), "application/json")
    assert r.status_code == 403
    assert r.headers["content-type"] == PROBLEM
    assert words in r.json()["detail"]


async def test_an_unknown_feed_is_404_listing_the_feeds(
    api: RunningApi, tokens: dict[str, str]
) -> None:
    r = await post(api, tokens["RX9"], "ambulance-handovers", b"[]", "application/json")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert "ambulance-handover" in r.json()["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", ""])
async def test_another_content_type_is_415_listing_the_ones_accepted(
    api: RunningApi, tokens: dict[str, str], content_type: str
) -> None:
    r = await post(api, tokens["RX9"], "ambulance-handover", b"[]", content_type)
    assert r.status_code == 415
    assert r.headers["content-type"] == PROBLEM
    assert "text/csv" in r.json()["detail"]


async def test_content_type_parameters_and_a_bom_are_tolerated(
    api: RunningApi, tokens: dict[str, str]
) -> None:
    body = b"\xef\xbb\xbf" + orjson.dumps([handover(handover_id="BOM1")])
    r = await post(
        api, tokens["RX9"], "ambulance-handover", body, "application/json; charset=utf-8"
    )
    assert r.status_code == 200, r.text


async def test_a_body_over_the_default_10_mib_limit_is_413(
    api: RunningApi, tokens: dict[str, str]
) -> None:
    assert api.settings.max_body_bytes == 10 * 1024 * 1024
    body = b"[" + b" " * (10 * 1024 * 1024) + b"]"
    r = await post(api, tokens["RX9"], "ambulance-handover", body, "application/json")
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM
    assert "10485760" in r.json()["detail"]


async def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(
    api: RunningApi, tokens: dict[str, str]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"["
        for _ in range(11):
            yield b" " * (1024 * 1024)
        yield b"]"

    async with api.client(tokens["RX9"]) as c:
        r = await c.post(
            "/v1/feeds/ambulance-handover",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("content_type", "body", "words"),
    [
        ("application/json", b"[" + b",".join([b"{}"] * 250_001) + b"]", "250,001 records"),
        ("application/x-ndjson", b"{}\n" * 250_001, "250,001 lines"),
        ("text/csv", b"handover_id\n" + b"H\n" * 250_001, "250,001 rows"),
    ],
)
async def test_a_body_of_more_records_than_the_limit_is_413_before_any_is_read(
    api: RunningApi, tokens: dict[str, str], content_type: str, body: bytes, words: str
) -> None:
    assert api.settings.max_body_records == 250_000
    r = await post(api, tokens["RX9"], "ambulance-handover", body, content_type)
    assert r.status_code == 413, r.text[:300]
    assert r.headers["content-type"] == PROBLEM
    assert words in r.json()["detail"] and "at most 250,000" in r.json()["detail"]


async def test_a_header_of_twenty_thousand_unknown_columns_earns_a_short_problem(
    api: RunningApi, tokens: dict[str, str]
) -> None:
    header = ",".join(["handover_id", *(f"column_{n}" for n in range(20_000))])
    body = header.encode() + b"\nH1\n"
    r = await post(api, tokens["RX9"], "ambulance-handover", body, "text/csv")
    assert r.status_code == 400
    assert len(r.content) < 2_000  # not every column echoed back (that was 250 kB)
    assert "'column_0', 'column_1'" in r.json()["detail"]
    assert "and 19,990 more" in r.json()["detail"]


async def test_nothing_accepted_is_422_even_for_an_empty_batch(
    api: RunningApi, tokens: dict[str, str]
) -> None:
    r = await post(api, tokens["RX9"], "ambulance-handover", b"[]", "application/json")
    assert r.status_code == 422
    assert r.json() | {"submission_id": None} == {
        "submission_id": None,
        "feed": "ambulance-handover",
        "received": 0,
        "accepted": 0,
        "unchanged": 0,
        "rejected": [],
    }


async def test_a_wrong_method_is_405_as_a_problem_naming_the_allowed_ones(api: RunningApi) -> None:
    async with api.client() as c:
        for r in (await c.put("/v1/feeds/ambulance-handover"), await c.get("/v1/feeds/x")):
            assert r.status_code == 405
            assert r.headers["content-type"] == PROBLEM
            assert r.headers["allow"] == "POST"


async def test_an_unknown_api_path_is_a_404_problem_not_the_dashboard(api: RunningApi) -> None:
    async with api.client() as c:
        r = await c.get("/v1/nothing/here")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("query", "field"),
    [("feed=nope", "feed"), ("limit=0", "limit"), ("limit=x", "limit"), ("limit=1001", "limit")],
)
async def test_bad_rejection_queries_are_400_naming_the_parameter(
    api: RunningApi, tokens: dict[str, str], query: str, field: str
) -> None:
    async with api.client(tokens["RX9"]) as c:
        r = await c.get(f"/v1/rejections?{query}")
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == [field]
