"""The read path at control-room scale, on a real broker and Valkey: many viewers, one computation.

No timing is asserted here (bench/bench_query.py and bench/bench_sse.py measure speed): these
tests check that every viewer gets every change, that HTTP caching answers 304 for content the
client has, and that the stream caps refuse with 429/503 and Retry-After, and are counted.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from hub.settings import Settings
from tests.harness import RunningApi, running_api, running_worker, wait_until
from tests.integration.test_series_stream import events, next_event, push_waiting

pytestmark = pytest.mark.timeout(180)
VIEWERS = 200


async def watch(
    client: httpx.AsyncClient,
    ready: asyncio.Event,
    opened: list[int],
    want: dict[str, int],
    viewers: int = VIEWERS,
) -> int:
    """Follow one stream of org/RX9 until it shows `want["waiting"]` handovers waiting.

    `ready` is set once `viewers` streams have their first figures.
    """
    async with client.stream("GET", "/v1/stream", params={"scope": "org/RX9"}) as r:
        assert r.status_code == 200
        stream = events(r)
        seen: list[int] = []
        for _ in range(100):  # bounded: heartbeats and pings are skipped, figures are counted
            event = await next_event(stream, 60)
            if event.get("event") != "metrics":
                continue
            body = json.loads(event["data"])
            waiting = int(body["metrics"]["handover.waiting_now"]["value"])
            seen.append(waiting)
            if len(seen) == 1:
                opened.append(waiting)
                if len(opened) == viewers:
                    ready.set()
            if ready.is_set() and waiting == want.get("waiting"):
                return waiting
        raise AssertionError(f"no change reached this viewer: saw {seen}")


async def test_two_hundred_viewers_all_receive_a_pushed_change(settings: Settings) -> None:
    limits = httpx.Limits(max_connections=VIEWERS + 10)
    async with (
        running_api(settings) as api,
        running_worker(settings),
        httpx.AsyncClient(base_url=api.url, timeout=60, limits=limits) as client,
    ):
        ready, opened, want = asyncio.Event(), [], {}
        viewers = [asyncio.create_task(watch(client, ready, opened, want)) for _ in range(VIEWERS)]
        await asyncio.wait_for(ready.wait(), 120)
        assert set(opened) == {0}  # every viewer started from the current figures
        want["waiting"] = 1
        await push_waiting(api, 1)
        got = await asyncio.wait_for(asyncio.gather(*viewers), 120)
        assert got == [1] * VIEWERS
        assert "hub_sse_connections 0.0" in await scrape(api, after_streams=True)


async def scrape(api: RunningApi, after_streams: bool = False) -> str:
    async with api.client() as c:
        if after_streams:  # the server notices the disconnections a moment later
            await wait_until(lambda: _closed(c), timeout=30)
        return (await c.get("/metrics")).text


async def _closed(c: httpx.AsyncClient) -> bool:
    return "hub_sse_connections 0.0" in (await c.get("/metrics")).text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/metrics/national",
        "/v1/metrics/site/RWEAA",
        "/v1/series?metric=handover.mean_minutes&scope=national",
    ],
)
async def test_metric_and_series_answers_carry_validators_and_304_when_unchanged(
    settings: Settings, path: str
) -> None:
    frozen = 1_764_000_000_000
    async with running_api(settings, clock_ms=lambda: frozen) as api, api.client() as c:
        first = await c.get(path)
        assert first.status_code == 200
        etag = first.headers["etag"]
        assert etag.startswith('W/"')
        assert first.headers["cache-control"] == "max-age=1"
        assert first.headers["last-modified"].endswith(" GMT")
        assert first.headers["content-type"] == "application/json"
        again = await c.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        listed = await c.get(path, headers={"If-None-Match": f'"other", {etag.removeprefix("W/")}'})
        assert listed.status_code == 304  # weak comparison, any tag of a list
        other = await c.get(path, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.json() == first.json()


async def test_a_change_gives_a_new_etag(settings: Settings) -> None:
    async with running_api(settings) as api, running_worker(settings), api.client() as c:
        before = await c.get("/v1/metrics/org/RX9")
        await push_waiting(api, 7)

        async def changed() -> httpx.Response | None:
            r = await c.get(
                "/v1/metrics/org/RX9", headers={"If-None-Match": before.headers["etag"]}
            )
            return r if r.status_code == 200 else None

        after = await wait_until(changed, timeout=60)
        assert after.headers["etag"] != before.headers["etag"]
        assert after.json()["metrics"]["handover.waiting_now"]["value"] == 1


async def test_streams_past_a_cap_are_refused_with_retry_after_and_counted(
    settings_factory: Any,
) -> None:
    settings = settings_factory(sse_max_connections=2, sse_max_per_token=1)
    async with running_api(settings) as api:
        token = await api.token("RX9", role="viewer")
        async with (
            api.client(token) as mine,
            api.client() as anonymous,
            mine.stream("GET", "/v1/stream", params={"scope": "national"}) as held,
        ):
            assert held.status_code == 200
            refused = await mine.get("/v1/stream", params={"scope": "national"})
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) > 0
            assert refused.headers["content-type"] == "application/problem+json"
            async with anonymous.stream("GET", "/v1/stream") as second:
                assert second.status_code == 200
                full = await anonymous.get("/v1/stream")
                assert full.status_code == 503 and int(full.headers["retry-after"]) > 0
            text = (await anonymous.get("/metrics")).text
            assert 'hub_sse_refused_total{limit="token"} 1.0' in text
            assert 'hub_sse_refused_total{limit="process"} 1.0' in text


async def test_a_flood_of_streams_is_refused_while_the_viewers_already_in_keep_updating(
    settings_factory: Any,
) -> None:
    held, flood = 5, 100
    settings: Settings = settings_factory(sse_max_connections=held)
    limits = httpx.Limits(max_connections=held + flood + 10)
    async with (
        running_api(settings) as api,
        running_worker(settings),
        httpx.AsyncClient(base_url=api.url, timeout=60, limits=limits) as client,
    ):
        ready, opened, want = asyncio.Event(), [], {}
        viewers = [
            asyncio.create_task(watch(client, ready, opened, want, viewers=held))
            for _ in range(held)
        ]
        await asyncio.wait_for(ready.wait(), 60)
        refused = await asyncio.gather(
            *(client.get("/v1/stream", params={"scope": "org/RX9"}) for _ in range(flood))
        )
        assert [r.status_code for r in refused] == [503] * flood
        want["waiting"] = opened[0] + 1
        await push_waiting(api, 1)
        got = await asyncio.wait_for(asyncio.gather(*viewers), 60)
    assert got == [want["waiting"]] * held  # every viewer that was in saw the change


async def test_one_token_spelt_differently_is_still_one_token_against_its_cap(
    settings_factory: Any,
) -> None:
    settings = settings_factory(sse_max_per_token=2)
    async with running_api(settings) as api:
        token = await api.token("RX9", role="viewer")
        spellings = [f"Bearer {token}", f"bearer  {token}", f"BEARER   {token}"]
        clients = [httpx.AsyncClient(base_url=api.url, headers={"Authorization": h}, timeout=30)
                   for h in spellings]  # fmt: skip
        try:
            async with (
                clients[0].stream("GET", "/v1/stream") as first,
                clients[1].stream("GET", "/v1/stream") as second,
            ):
                assert first.status_code == second.status_code == 200
                third = await clients[2].get("/v1/stream")
                assert third.status_code == 429, "a third spelling is not a new token"
        finally:
            for client in clients:
                await client.aclose()


async def test_alert_streams_share_the_live_streams_caps_and_are_counted(
    settings_factory: Any,
) -> None:
    settings = settings_factory(sse_max_connections=3, sse_max_per_token=1)
    async with running_api(settings) as api:
        token = await api.token("RX9", role="viewer")
        async with (
            api.client(token) as mine,
            api.client() as anonymous,
            mine.stream("GET", "/v1/stream", params={"scope": "national"}) as live,
        ):
            assert live.status_code == 200
            refused = await mine.get("/v1/alerts/stream", params={"scope": "org/RX9"})
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
            async with (
                anonymous.stream("GET", "/v1/alerts/stream") as a,
                anonymous.stream("GET", "/v1/alerts/stream", params={"scope": "org/RX9"}) as b,
            ):
                assert a.status_code == b.status_code == 200
                full = await anonymous.get("/v1/alerts/stream")
                assert full.status_code == 503 and int(full.headers["retry-after"]) > 0
                text = (await anonymous.get("/metrics")).text
                assert "hub_sse_connections 3.0" in text
            assert 'hub_sse_refused_total{limit="token"} 1.0' in text
            assert 'hub_sse_refused_total{limit="process"} 1.0' in text
