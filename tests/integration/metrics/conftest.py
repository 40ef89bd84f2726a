"""Every metric case runs twice: on the in-memory oracle and on the production store in Valkey.

The two must agree: `MemoryHub` is the fast, readable model of the Redis
state, and `RedisHub` writes the same plans with the real apply script (times
to live, trimming, `ZADD GT`) and reads them with the real store.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from hub.domain.metrics import Params
from tests.metric_hubs import REF, Hub, MemoryHub, RedisHub

HubMaker = Callable[..., Awaitable[Hub]]


@pytest.fixture(params=["memory", "valkey"])
async def make_hub(request: pytest.FixtureRequest) -> AsyncIterator[HubMaker]:
    """Return a maker of empty hubs of one kind (each with its own key prefix)."""
    clients: list[aioredis.Redis] = []

    async def make(params: Params | None = None) -> Hub:
        if request.param == "memory":
            return MemoryHub(REF, params)
        valkey = request.getfixturevalue("valkey")
        client = aioredis.from_url(valkey.address, decode_responses=True)
        clients.append(client)
        return RedisHub(client, f"c{uuid.uuid4().hex[:10]}", REF, params)

    yield make
    for client in clients:
        await client.aclose()
