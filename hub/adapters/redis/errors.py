"""The one translation of Redis errors into the hub's, with one rule.

Transient: the server cannot answer now but will (connection lost, timeout,
loading a dump, out of memory, read-only after a failover, no quorum of
replicas). These become `StateUnavailable`: the API answers 503 with
Retry-After and a worker pauses and reads the batch again later.

Everything else (WRONGTYPE, NOPERM, a syntax or script error) is a
programming or configuration error that retrying cannot fix. It is raised
unchanged, so the API answers 500 and logs the traceback, and a worker logs
it and pauses without treating its records as poison.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hub.domain.errors import StateUnavailable

T = TypeVar("T")

# Error replies that mean "not now" rather than "never".
TRANSIENT_REPLIES = (
    "OOM",
    "READONLY",
    "LOADING",
    "MASTERDOWN",
    "BUSY",
    "NOREPLICAS",
    "TRYAGAIN",
    "CLUSTERDOWN",
    "FAILOVER",
)


def is_transient(exc: BaseException) -> bool:
    """Say whether a Redis error is an outage to wait out (True) or a bug to raise (False)."""
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError):
        return True
    if not isinstance(exc, ResponseError):
        return False
    # redis-py strips the code of replies it knows (READONLY, OOM, MASTERDOWN…) from the
    # message and keeps it as `status_code`; replies it does not know keep it in the text.
    code = getattr(exc, "status_code", None) or str(exc).split(" ", 1)[0]
    return code in TRANSIENT_REPLIES


@asynccontextmanager
async def translated(doing: str) -> AsyncIterator[None]:
    """Turn a transient Redis error inside the block into StateUnavailable("{doing}: …")."""
    try:
        yield
    except Exception as exc:
        if is_transient(exc):
            raise StateUnavailable(f"{doing}: {exc}") from exc
        raise


async def guarded(awaitable: Awaitable[T], doing: str = "Redis did not answer") -> T:
    """Await one Redis call, translating its errors by the rule above."""
    async with translated(doing):
        return await awaitable
