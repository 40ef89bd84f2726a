"""`GET /v1/stream` on a real broker and Valkey: a page's scopes on one connection, live."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from hub.domain.orgs import ReferenceData
from hub.settings import Settings
from tests.harness import RunningApi, running_api, running_worker

pytestmark = pytest.mark.timeout(120)


async def events(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    """Yield each server-sent event as a dict of its fields (a comment line as "comment")."""
    event: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if event:
                yield event
            event = {}
        elif line.startswith(":"):
            event["comment"] = line[1:].strip()
        else:
            name, _, value = line.partition(":")
            event[name] = value.lstrip(" ")


async def next_event(stream: AsyncIterator[dict[str, str]], timeout: float) -> dict[str, str]:
    return await asyncio.wait_for(anext(stream), timeout)


async def push_waiting(api: RunningApi, n: int) -> None:
    arrived = datetime.now(tz=UTC).isoformat().replace("+00:00", "Z")
    record = {
        "handover_id": f"W{n}",
        "ambulance_trust": "RX9",
        "site": "RWEAA",
        "arrived_at": arrived,
    }
    async with api.client(await api.token("RX9")) as c:
        r = await c.post(
            "/v1/feeds/ambulance-handover",
            content=orjson.dumps([record]),
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 200, r.text


async def test_a_page_stream_starts_with_every_scope_then_sends_each_change(
    settings: Settings, ref: ReferenceData
) -> None:
    members = {f"org/{o.code}" for o in ref.organisations.values() if o.region == "Y60"}
    async with (
        running_api(settings) as api,
        running_worker(settings),
        api.client() as c,
        c.stream("GET", "/v1/stream", params={"scope": "region/Y60", "members": "true"}) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        stream = events(r)
        first = await next_event(stream, 10)
        assert first.get("retry") == "1000"  # browsers reconnect after a second
        seen: dict[str, Any] = {}
        while len(seen) < len(members) + 1:
            event = await next_event(stream, 10)
            if event.get("event") == "metrics":
                body = json.loads(event["data"])
                seen[f"{body['scope']['type']}/{body['scope']['code']}"] = body
        assert set(seen) == members | {"region/Y60"}
        waiting = seen["region/Y60"]["metrics"]["handover.waiting_now"]["value"]
        for n in range(2):
            await push_waiting(api, n)
            while True:
                event = await next_event(stream, 10)
                if event.get("event") != "metrics":
                    continue
                body = json.loads(event["data"])
                if body["scope"]["code"] == "Y60":
                    break
            assert body["metrics"]["handover.waiting_now"]["value"] == waiting + n + 1


async def test_a_quiet_stream_still_sends_heartbeats(settings: Settings) -> None:
    async with (
        running_api(settings) as api,
        api.client() as c,
        c.stream("GET", "/v1/stream", params={"scope": "org/RX9"}) as r,
    ):
        stream = events(r)
        kinds: set[str] = set()
        # next_event fails the test if nothing arrives in 20 s (the beat is every 15 s).
        while not {"ping", "heartbeat"} <= kinds:
            event = await next_event(stream, 20)
            kinds.add(event.get("event") or event.get("comment", "").split(" ")[0])


async def test_an_unknown_scope_is_refused_before_streaming(settings: Settings) -> None:
    async with running_api(settings) as api, api.client() as c:
        r = await c.get("/v1/stream", params={"scope": "region/NOPE"})
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
