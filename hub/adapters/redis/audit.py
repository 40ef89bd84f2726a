"""The audit trail: token administration and ingest receipts, in a capped Redis stream.

Kept outside the serving generations (`{prefix}:audit`), so `hub rebuild` keeps it,
and capped at about `KEEP` events, so a busy hub cannot grow it without end.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

from hub.adapters.codec import dumps, loads
from hub.adapters.redis.errors import translated
from hub.adapters.redis.keys import Keys

KEEP = 100_000


class RedisAuditLog:
    """Implements the AuditLog port."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._key = Keys(prefix).audit

    async def record(self, actor: str, action: str, details: Mapping[str, Any]) -> None:
        event: dict[Any, Any] = {"at": f"{time.time():.3f}", "actor": actor, "action": action,
                                 "details": dumps(dict(details)).decode()}  # fmt: skip
        async with translated("cannot write the audit trail"):
            await self._r.xadd(self._key, event, maxlen=KEEP, approximate=True)

    async def recent(self, limit: int, action: str | None = None) -> list[dict[str, Any]]:
        async with translated("cannot read the audit trail"):
            entries: Any = await self._r.xrevrange(self._key, count=limit * 4 if action else limit)
        out = []
        for entry_id, fields in entries:
            if action is not None and fields["action"] != action:
                continue
            out.append({"id": entry_id, "at": float(fields["at"]), "actor": fields["actor"],
                        "action": fields["action"], "details": loads(fields["details"])})  # fmt: skip
            if len(out) >= limit:
                break
        return out
