"""Arbitrary bodies and CSV files sent to the real HTTP service never earn a 500 (SPEC §9).

Every answer has a largest size and counts every record (issue 27); the parsers' own fuzz
targets, which count the work each body costs, are in `tests/unit/test_parser_fuzz.py`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.adapters.embedded import ManagedProcess
from hub.adapters.kafka.topics import ensure_topics
from hub.domain.feeds import FEEDS, Feed
from tests.harness import RunningApi, running_api
from tests.integration.test_ingest_errors import module_settings
from tests.unit.test_body_parsers import csv_files
from tests.unit.test_parser_fuzz import PROBLEM_MAX_BYTES, RECEIPT_MAX_BYTES

pytestmark = pytest.mark.timeout(300)

EXPECTED = {200, 400, 413, 415, 422}
TYPES = ["application/json", "application/x-ndjson", "text/csv", "text/plain", ""]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
async def fuzz(
    broker: ManagedProcess, valkey: ManagedProcess
) -> AsyncIterator[tuple[RunningApi, dict[str, str]]]:
    # A small body limit, so the 413 path is fuzzed too.
    settings_ = module_settings(broker, valkey, max_body_bytes=4_000)
    await ensure_topics(settings_)
    async with running_api(settings_) as api:
        tokens = {org: await api.token(org) for org in ("RX9", "RX7", "R1H")}
        yield api, tokens


def token_for(feed: Feed, tokens: dict[str, str]) -> str:
    return tokens[{"ambulance": "RX9", "nhs111": "RX7", "acute": "R1H"}[feed.org_role]]


async def send(
    api: RunningApi, token: str, feed: str, body: bytes, content_type: str
) -> httpx.Response:
    async with api.client(token) as c:
        return await c.post(
            f"/v1/feeds/{feed}", content=body, headers={"Content-Type": content_type}
        )


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=20,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """Raw bytes, JSON-looking text, or JSON arrays of objects with real field names."""
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.binary(max_size=5_000))
    if kind == 1:
        return draw(st.text(max_size=2_000)).encode("utf-8", "surrogatepass")
    names = st.sampled_from(sorted({n for f in FEEDS.values() for n in f.field_names}))
    record = st.dictionaries(names | st.text(max_size=8), JSONISH, max_size=8)
    # json, not orjson: huge integers and NaN are part of the fun.
    return json.dumps(draw(st.lists(record, max_size=10))).encode()


@FUZZ
@given(feed=st.sampled_from(sorted(FEEDS)), body=bodies(), content_type=st.sampled_from(TYPES))
async def test_no_body_earns_a_server_error(
    fuzz: tuple[RunningApi, dict[str, str]], feed: str, body: bytes, content_type: str
) -> None:
    api, tokens = fuzz
    r = await send(api, token_for(FEEDS[feed], tokens), feed, body, content_type)
    check_answer(r)


def check_answer(r: httpx.Response) -> None:
    """A status the API documents; every record counted; no answer past its size bound."""
    assert r.status_code in EXPECTED, (r.status_code, r.text[:500])
    if r.status_code in (200, 422):
        receipt = r.json()
        unlisted = receipt.get("rejected_more", {}).get("records", 0)
        assert receipt["received"] == receipt["accepted"] + len(receipt["rejected"]) + unlisted
        assert len(r.content) <= RECEIPT_MAX_BYTES
    else:
        assert r.headers["content-type"] == "application/problem+json"
        assert len(r.content) <= PROBLEM_MAX_BYTES


@FUZZ
@given(file=csv_files())
async def test_no_csv_file_earns_a_server_error(
    fuzz: tuple[RunningApi, dict[str, str]], file: tuple[Feed, bytes]
) -> None:
    api, tokens = fuzz
    feed, body = file
    r = await send(api, token_for(feed, tokens), feed.name, body, "text/csv")
    check_answer(r)
