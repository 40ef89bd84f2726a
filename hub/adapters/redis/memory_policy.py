"""Read Redis's `maxmemory-policy`, for the production checks, even where CONFIG is disabled.

`CONFIG GET` is the authoritative answer, but managed services rename or forbid
CONFIG and a least-privilege ACL user (deploy/README.md) has no @admin
commands; `INFO memory` reports the same policy and needs only `+info`. When
neither answers, say why, so the check can warn instead of guessing.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from hub.adapters.redis.errors import is_transient


async def eviction_policy(client: aioredis.Redis) -> tuple[str | None, str]:
    """Return (the policy, "") or (None, why it could not be read)."""
    refusals = []
    for ask in (_config_get, _info):
        try:
            policy = await ask(client)
        except ResponseError as exc:  # NOPERM, an unknown (renamed) command
            if is_transient(exc):
                return None, f"Redis did not answer: {exc}"
            refusals.append(str(exc))
            continue
        except Exception as exc:
            if is_transient(exc):
                return None, f"Redis did not answer: {exc}"
            raise
        if policy:
            return policy, ""
    return None, "; ".join(refusals) or "Redis reported no maxmemory-policy"


async def _config_get(client: aioredis.Redis) -> str | None:
    reply = await client.config_get("maxmemory-policy")
    value = reply.get("maxmemory-policy")
    return None if value is None else str(value)


async def _info(client: aioredis.Redis) -> str | None:
    info = await client.info("memory")
    value = info.get("maxmemory_policy")
    return None if value is None else str(value)
