"""Build the Redis client every hub process uses."""

from __future__ import annotations

import redis.asyncio as aioredis

from hub.settings import Settings

MAX_CONNECTIONS = 100


def redis_client(settings: Settings) -> aioredis.Redis:
    """Return a client with bounded waits, so an outage is an error, not a hang.

    Past MAX_CONNECTIONS a caller waits (up to the socket timeout) for a free
    connection instead of failing at once: a burst of different queries
    queues briefly rather than answering 503.
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=MAX_CONNECTIONS,
        timeout=5.0,
        decode_responses=True,
        socket_timeout=5.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )
    return aioredis.Redis.from_pool(pool)  # closing the client closes the pool
