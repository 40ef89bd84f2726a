"""Several `hub serve` processes behind one address (deploy/README.md): a live stream whose
process is SIGKILLed reconnects, through the balancer, to the survivor and gets the current
figures first; pushes and queries carry on through the same address."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from hub.adapters.embedded import free_port
from hub.settings import Settings
from tests.balancer import round_robin
from tests.e2e.processes import Child, start
from tests.harness import caught_up, running_worker, wait_until
from tests.integration.test_series_stream import events

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

SCOPE = "org/RX9"


def handovers(numbers: range) -> bytes:
    arrived = datetime.fromtimestamp(time.time() - 1800, tz=UTC).isoformat()
    return orjson.dumps(
        [
            {
                "handover_id": f"S{n}",
                "ambulance_trust": "RX9",
                "site": "RWEAA",
                "arrived_at": arrived,
            }
            for n in numbers
        ]
    )


async def push(c: httpx.AsyncClient, token: str, numbers: range) -> None:
    r = await c.post(
        "/v1/feeds/ambulance-handover",
        content=handovers(numbers),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text


async def ready(port: int) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2.0) as c:
            return (await c.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def first_figures(stream: AsyncIterator[dict[str, str]]) -> dict[str, Any]:
    """Return the first event after the connection's `retry` advice: it must carry figures."""
    opening = await asyncio.wait_for(anext(stream), 15)
    assert opening.get("retry")
    event = await asyncio.wait_for(anext(stream), 15)
    assert event.get("event") == "metrics", event  # the state first, before anything else
    body: dict[str, Any] = json.loads(event["data"])
    return body


def arrivals(body: dict[str, Any]) -> int:
    return int(body["metrics"]["handover.arrivals"]["windows"]["24h"])


async def test_a_stream_whose_api_process_dies_reconnects_to_the_survivor_state_first(
    settings: Settings, tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    apis: list[Child] = [
        start(f"api-{i}", ["hub", "serve"], settings.with_(http_port=port), tmp_path)
        for i, port in enumerate(ports)
    ]
    try:
        for port in ports:
            await wait_until(lambda port=port: ready(port), timeout=60, interval=0.2)
        async with (
            round_robin(ports) as (balancer, url),
            running_worker(settings),
            httpx.AsyncClient(base_url=url, timeout=30.0) as c,
            httpx.AsyncClient(base_url=url, timeout=30.0) as viewer,  # a browser's own connections
        ):
            admin = {"Authorization": f"Bearer {settings.admin_token}"}
            r = await c.post("/v1/admin/tokens", json={"org": "RX9"}, headers=admin)
            assert r.status_code == 201, r.text
            token = r.json()["token"]
            await push(c, token, range(0, 40))
            await caught_up(settings)

            async with viewer.stream("GET", "/v1/stream", params={"scope": SCOPE}) as r:
                stream = events(r)
                assert arrivals(await first_figures(stream)) == 40
                serving = balancer.chosen[-1]
                assert apis[ports.index(serving)].kill()
                with pytest.raises((StopAsyncIteration, httpx.HTTPError)):
                    async with asyncio.timeout(15):  # the dead process's stream ends, no hang
                        while True:
                            await anext(stream)

            # While the viewer is away, records arrive through the same address.
            await push(c, token, range(40, 70))
            await caught_up(settings)

            # Reconnect as a browser's EventSource does after `retry` ms.
            async with viewer.stream("GET", "/v1/stream", params={"scope": SCOPE}) as r:
                assert r.status_code == 200
                body = await first_figures(events(r))
                survivor = balancer.chosen[-1]
            assert survivor != serving
            assert arrivals(body) == 70
            now = (await c.get(f"/v1/metrics/{SCOPE}")).json()
            assert body["metrics"]["handover.arrivals"] == now["metrics"]["handover.arrivals"]
    finally:
        for api in apis:
            api.stop()
