"""Build the Redis client every hub process uses: one primary, named by URL or by Sentinel.

`HUB_REDIS_URL` alone names the primary's address, or a managed service's
failover endpoint. A connection that meets a demoted primary (`READONLY`) is
dropped, so the next one resolves the endpoint again and reaches the new one.

`HUB_REDIS_SENTINELS` makes every new connection ask the sentinels for the
current primary of `HUB_REDIS_SENTINEL_SERVICE`. After a failover the old
primary's connections fail (or meet `READONLY`), are dropped, and the next
ones go to the promoted replica; meanwhile each call fails as transient
(`errors.py`), so the API answers 503 and the workers back off. The URL then
carries what it carries for a plain Redis but the address: credentials,
database and TLS (`rediss://`, `ssl_*` options), e.g. `rediss://hub:PASSWORD@/0`.
The sentinels are reached over TLS when the URL says `rediss://`.
"""

from __future__ import annotations

import weakref
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.connection import (
    BlockingConnectionPool,
    Connection,
    SSLConnection,
    parse_url,
)
from redis.asyncio.sentinel import (
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError

from hub.domain.errors import ConfigError
from hub.settings import Settings

# Past this many connections a caller waits (up to the socket timeout) for a free one instead
# of failing at once: a burst of different queries queues briefly rather than answering 503.
MAX_CONNECTIONS = 100
# Bounded waits, so an outage is an error, not a hang.
DATA_NODE_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_timeout": 5.0,
    "socket_connect_timeout": 2.0,
    "health_check_interval": 30,
}
# A sentinel that does not answer at once is skipped for the next one.
SENTINEL_OPTIONS: dict[str, Any] = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}


def redis_client(settings: Settings) -> aioredis.Redis:
    """Return a client for the current primary, through Sentinel when sentinels are named."""
    if settings.redis_sentinels:
        return _through_sentinel(settings)
    if not settings.redis_url:
        raise ConfigError("set HUB_REDIS_URL or HUB_REDIS_SENTINELS")
    tls = urlsplit(settings.redis_url).scheme == "rediss"
    pool = _ClosableBlockingPool.from_url(
        settings.redis_url,
        connection_class=_DemotionAwareSSLConnection if tls else _DemotionAwareConnection,
        max_connections=MAX_CONNECTIONS,
        timeout=5.0,
        **DATA_NODE_OPTIONS,
    )
    return aioredis.Redis.from_pool(pool)  # closing the client closes the pool


def sentinel_addresses(text: str) -> list[tuple[str, int]]:
    """Parse `HUB_REDIS_SENTINELS` ("host:port,host:port") or say clearly what is wrong."""
    out: list[tuple[str, int]] = []
    for item in (part.strip() for part in text.split(",")):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(
                f"HUB_REDIS_SENTINELS: {item!r} is not host:port (e.g. sentinel-1:26379)"
            )
        out.append((host.strip("[]"), int(port)))
    return out


def data_node_options(url: str) -> dict[str, Any]:
    """Return the credentials, database and TLS options a Sentinel setup takes from the URL.

    The address comes from the sentinels, so a URL naming a host is refused:
    a reader would believe the hub connects there.
    """
    if not url:
        return {}
    host = urlsplit(url).hostname
    if host:
        raise ConfigError(
            f"HUB_REDIS_URL names host {host!r}, but with HUB_REDIS_SENTINELS the sentinels "
            "name the primary: give the URL without a host, e.g. rediss://user:password@/0"
        )
    options: dict[str, Any] = dict(parse_url(url))
    if options.pop("connection_class", None) is SSLConnection:
        options["ssl"] = True
    return options


def _through_sentinel(settings: Settings) -> aioredis.Redis:
    data = data_node_options(settings.redis_url)
    reach_sentinels = dict(SENTINEL_OPTIONS)
    reach_sentinels.update({k: v for k, v in data.items() if k.startswith("ssl")})
    tls = data.pop("ssl", False)  # named by the class below, as redis-py's pool would name it
    if settings.redis_sentinel_password:
        reach_sentinels["password"] = settings.redis_sentinel_password
        reach_sentinels["username"] = settings.redis_sentinel_username or None
    sentinel = Sentinel(
        sentinel_addresses(settings.redis_sentinels),
        sentinel_kwargs=reach_sentinels,
        **{**DATA_NODE_OPTIONS, **data},  # the URL's own options win, as with a plain URL
    )
    client: aioredis.Redis = sentinel.master_for(
        settings.redis_sentinel_service,
        redis_class=_SentinelRedis,
        connection_pool_class=_ClosableSentinelPool,
        connection_class=_ClosableSentinelSSLConnection if tls else _ClosableSentinelConnection,
    )
    return client


class _SentinelRedis(aioredis.Redis):
    """A client of the primary that also closes its connections to the sentinels."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        pool = self.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            await pool.sentinel_manager.aclose()


CLOSED = "this Redis client has been closed"


class _ClosedForGood:
    """A pool that stays closed once its client is: none of its connections opens a socket again.

    redis-py lets a closed pool and its connections be used again. A command or a
    subscription still running when its client closes would open a fresh socket,
    held by a pool nobody will close again: an open socket for as long as the
    process lives. Here that command fails instead, as any started later does.
    """

    closed = False

    async def aclose(self) -> None:
        self.closed = True
        await super().aclose()  # type: ignore[misc]

    def make_connection(self) -> Any:
        connection = super().make_connection()  # type: ignore[misc]
        pool = weakref.ref(self)  # no cycle: a pool nobody holds counts as closed
        connection.pool_closed = lambda: (p := pool()) is None or p.closed
        return connection

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if self.closed:
            raise RedisConnectionError(CLOSED)
        return await super().get_connection(*args, **kwargs)  # type: ignore[misc]


class _OpensNothingOnceClosed:
    """A connection that opens no socket once its pool is closed (`_ClosedForGood`)."""

    def pool_closed(self) -> bool:
        return False  # until its pool gives it the real question

    async def _connect(self) -> None:
        if self.pool_closed():
            raise RedisConnectionError(CLOSED)
        await super()._connect()  # type: ignore[misc]
        if self.pool_closed():  # the client closed while this socket was opening
            self._close()  # type: ignore[attr-defined]
            raise RedisConnectionError(CLOSED)


class _ClosableBlockingPool(_ClosedForGood, BlockingConnectionPool):
    pass


class _ClosableSentinelPool(_ClosedForGood, SentinelConnectionPool):
    pass


class _ClosableSentinelConnection(_OpensNothingOnceClosed, SentinelManagedConnection):
    pass


class _ClosableSentinelSSLConnection(_OpensNothingOnceClosed, SentinelManagedSSLConnection):
    pass


class _DemotionAware:
    """Drop a connection whose server has become a replica, as the Sentinel pool does.

    A failover endpoint then resolves to the new primary on the next connection,
    instead of this one answering READONLY until it happens to close.
    """

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().read_response(*args, **kwargs)  # type: ignore[misc]
        except ReadOnlyError as exc:
            await self.disconnect()  # type: ignore[attr-defined]
            raise RedisConnectionError(f"the primary became a replica: {exc}") from exc


class _DemotionAwareConnection(_OpensNothingOnceClosed, _DemotionAware, Connection):
    pass


class _DemotionAwareSSLConnection(_OpensNothingOnceClosed, _DemotionAware, SSLConnection):
    pass
