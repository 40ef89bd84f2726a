"""Live-update notices over Redis pub/sub: workers say which scopes changed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from hub.adapters.codec import dumps, loads
from hub.adapters.redis.errors import translated
from hub.adapters.redis.keys import Keys
from hub.domain.errors import StateUnavailable

log = logging.getLogger(__name__)


class RedisLivePublisher:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._channel = Keys(prefix).live

    async def publish(self, scopes: Sequence[str]) -> None:
        # A missed notice only delays a screen until its next refresh, so failures are not fatal.
        try:
            async with translated("live notice not sent"):
                await self._r.publish(self._channel, dumps(list(scopes)))
        except StateUnavailable as exc:
            log.warning("%s", exc)


async def changed_scopes(client: aioredis.Redis, prefix: str) -> AsyncIterator[list[str]]:
    """Yield lists of changed scopes as workers announce them; reconnect after failures."""
    channel = Keys(prefix).live
    while True:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            async with translated("live channel lost"):
                await pubsub.subscribe(channel)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        yield list(loads(message["data"]))
        except StateUnavailable as exc:
            log.warning("%s; resubscribing", exc)
            await asyncio.sleep(1.0)
        finally:
            await _aclose(pubsub)


async def _aclose(pubsub: PubSub) -> None:
    # Bound to a typed name rather than called with a `type: ignore`: redis-py annotates
    # `aclose` in some releases and not others, and an unused ignore fails mypy --strict.
    close: Callable[[], Awaitable[None]] = pubsub.aclose
    await close()
