"""Tokens in Redis, by SHA-256 hash; revocation deletes both keys at once."""

from __future__ import annotations

from dataclasses import asdict

import redis.asyncio as aioredis

from hub.adapters.codec import dumps, loads
from hub.adapters.redis.errors import translated
from hub.adapters.redis.keys import Keys
from hub.ports import StoredToken


class RedisTokenStore:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._keys = Keys(prefix)

    async def put(self, token_hash: str, token: StoredToken) -> None:
        async with translated("cannot store the token"), self._r.pipeline(True) as pipe:
            pipe.set(self._keys.token(token_hash), dumps(asdict(token)))
            pipe.set(self._keys.token_id(token.id), token_hash)
            await pipe.execute()

    async def get(self, token_hash: str) -> StoredToken | None:
        async with translated("cannot check the token"):
            raw = await self._r.get(self._keys.token(token_hash))
        if raw is None:
            return None
        doc = loads(raw)
        feeds = doc.get("feeds")
        return StoredToken(
            doc["id"],
            doc["org"],
            None if feeds is None else tuple(feeds),
            doc["role"],
            doc["created_at"],
            doc.get("name"),
            doc.get("job_role"),
        )

    async def revoke(self, token_id: str) -> bool:
        async with translated("cannot revoke the token"):
            token_hash = await self._r.get(self._keys.token_id(token_id))
            if token_hash is None:
                return False
            await self._r.delete(self._keys.token(str(token_hash)), self._keys.token_id(token_id))
        return True
