"""Alert memories, acknowledgements and their audit trail in Redis, outside serving generations.

`hub rebuild` replaces the serving state; what people said about alerts is
not derived from the Kafka log and must survive it, so these keys sit beside
the tokens:

    alert:mem    hash: group id -> {since, peak, worsened_at} (JSON)
    alert:ack    hash: group id -> the acknowledgement in force (JSON)
    alert:audit  stream: every acknowledgement and expiry, newest kept (`AUDIT_KEEP`)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis

from hub.adapters.codec import dumps, loads
from hub.adapters.redis.errors import translated
from hub.adapters.redis.keys import Keys

AUDIT_KEEP = 100_000
TRAIL_SCAN = 5_000  # how far back a per-alert trail looks

# End an acknowledgement and audit it only if this call ended it, so two API
# processes noticing the same expiry write one audit event.
EXPIRE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'doc', ARGV[2])
  return 1
end
return 0
"""


class RedisAlertLog:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._keys = Keys(prefix)

    async def memories(self) -> dict[str, dict[str, Any]]:
        async with translated("cannot read alert memories"):
            raw = await self._r.hgetall(self._keys.alert_memory)
        return {str(k): loads(v) for k, v in raw.items()}

    async def save_memories(
        self, changed: Mapping[str, Mapping[str, Any]], cleared: Sequence[str]
    ) -> None:
        if not changed and not cleared:
            return
        key = self._keys.alert_memory
        async with translated("cannot store alert memories"), self._r.pipeline(True) as pipe:
            if changed:
                pipe.hset(key, mapping={k: dumps(dict(v)) for k, v in changed.items()})
            if cleared:
                pipe.hdel(key, *cleared)
            await pipe.execute()

    async def acks(self) -> dict[str, dict[str, Any]]:
        async with translated("cannot read acknowledgements"):
            raw = await self._r.hgetall(self._keys.alert_acks)
        return {str(k): loads(v) for k, v in raw.items()}

    async def acknowledge(self, alert_id: str, ack: Mapping[str, Any]) -> None:
        event = {"action": "acknowledged", **ack}
        async with translated("cannot store the acknowledgement"), self._r.pipeline(True) as pipe:
            pipe.hset(self._keys.alert_acks, alert_id, dumps(dict(ack)))
            pipe.xadd(
                self._keys.alert_audit, {"doc": dumps(event)}, maxlen=AUDIT_KEEP, approximate=True
            )
            await pipe.execute()

    async def expire(self, alert_id: str, event: Mapping[str, Any]) -> bool:
        keys = [self._keys.alert_acks, self._keys.alert_audit]
        async with translated("cannot end the acknowledgement"):
            done = await self._r.eval(EXPIRE, 2, *keys, alert_id, dumps(dict(event)), AUDIT_KEEP)
        return bool(done)

    async def trail(self, alert_id: str | None, limit: int) -> list[dict[str, Any]]:
        async with translated("cannot read the audit trail"):
            entries = await self._r.xrevrange(self._keys.alert_audit, count=TRAIL_SCAN)
        out: list[dict[str, Any]] = []
        for entry_id, fields in entries or ():
            if not fields:
                continue
            doc = loads(fields["doc"])
            if alert_id is None or doc.get("alert_id") == alert_id:
                out.append({"event_id": str(entry_id), **doc})
                if len(out) >= limit:
                    break
        return out
