"""The shared snapshot cache: one computation per key per change, whoever and however many ask."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from hub.domain.errors import StateUnavailable
from hub.services.snapshots import SnapshotCache

pytestmark = pytest.mark.timeout(10)
CHANGED_AT = 1_764_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Source:
    """Bodies computed on demand; each call is recorded, and a gate can hold computations."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.calls: list[list[str]] = []
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None

    async def compute(self, keys: list[str]) -> list[Body]:
        self.calls.append(list(keys))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return [Body(k, self.values.get(k, 0), len(self.calls)) for k in keys]


@dataclass(frozen=True)
class Body:
    """A computed value: equal to another with the same content, whenever it was computed."""

    key: str
    value: int
    as_of: int = field(compare=False)


def cache(source: Source, clock: Clock, **options: Any) -> SnapshotCache[str, Body]:
    scope_of = lambda key: key.split("#")[0]  # noqa: E731  # "national#series" belongs to national
    return SnapshotCache(source.compute, scope_of, lambda: CHANGED_AT, timer=clock, **options)


async def test_concurrent_readers_share_one_computation_and_the_same_snapshot() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock)
    source.gate = asyncio.Event()
    readers = [asyncio.create_task(snapshots.get("national")) for _ in range(50)]
    await asyncio.sleep(0)
    source.gate.set()
    got = await asyncio.gather(*readers)
    assert source.calls == [["national"]]
    assert len({id(s) for s in got}) == 1  # computed once, the same snapshot for everyone
    assert got[0].value.key == "national"


async def test_a_fresh_snapshot_is_served_without_computing_and_an_old_one_is_recomputed() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock, max_age_s=1.0)
    await snapshots.get("national")
    clock.now += 0.4
    await snapshots.get("national")
    assert len(source.calls) == 1
    clock.now += 0.7  # 1.1 s old: too old to serve
    await snapshots.get("national")
    assert len(source.calls) == 2


async def test_past_half_its_age_a_snapshot_is_served_while_a_refresh_runs() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock, max_age_s=1.0)
    first = await snapshots.get("national")
    source.values["national"] = 7
    clock.now += 0.6
    assert await snapshots.get("national") is first  # served at once
    for _ in range(10):  # the background refresh lands
        await asyncio.sleep(0)
    assert len(source.calls) == 2
    assert (await snapshots.get("national")).value.value == 7


async def test_the_first_change_notice_in_a_while_makes_the_next_read_wait_for_it() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock)
    before = await snapshots.get("national")
    source.values["national"] = 3
    snapshots.invalidate(["region/Y56"])  # another scope: nothing to do
    assert await snapshots.get("national") is before
    snapshots.invalidate(["national"])
    after = await snapshots.get("national")
    assert after.value.value == 3
    assert after.version > before.version


async def test_a_notice_invalidates_every_key_of_its_scope() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock)
    await snapshots.many(["national#a", "national#b", "site/X#a"])
    snapshots.invalidate(["national"])
    await snapshots.many(["national#a", "national#b", "site/X#a"])
    assert source.calls[-1] == ["national#a", "national#b"]  # computed together, site/X kept


async def test_under_a_stream_of_notices_a_key_is_refreshed_at_most_at_its_rate() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock, max_age_s=1.0, refresh_per_s=2.0)
    await snapshots.get("national")
    served = []
    for _ in range(20):  # a notice and a read every 50 ms for a second
        snapshots.invalidate(["national"])
        served.append(await snapshots.get("national"))
        for _ in range(5):  # let refreshes behind the readers run
            await asyncio.sleep(0)
        clock.now += 0.05
    # The first notice in a while is waited for; after that about two refreshes a second, run
    # behind the readers: never one per notice.
    assert 3 <= len(source.calls) <= 5
    assert served[-1].value.as_of > 2  # readers did get the later refreshes


async def test_content_that_did_not_change_keeps_its_version_and_date() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock)
    first = await snapshots.get("national")
    snapshots.invalidate(["national"])
    second = await snapshots.get("national")
    assert second.value.as_of != first.value.as_of  # computed again
    assert (second.version, second.changed_at_ms) == (first.version, first.changed_at_ms)


async def test_a_failed_computation_reaches_every_waiting_reader_and_is_not_kept() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock)
    source.fail = StateUnavailable("Redis did not answer")
    results = await asyncio.gather(
        snapshots.get("national"), snapshots.get("national"), return_exceptions=True
    )
    assert all(isinstance(r, StateUnavailable) for r in results)
    assert len(source.calls) == 1
    source.fail = None
    assert (await snapshots.get("national")).value.key == "national"


async def test_a_reader_that_gives_up_does_not_cancel_the_computation_others_wait_for() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock)
    source.gate = asyncio.Event()
    impatient = asyncio.create_task(snapshots.get("national"))
    patient = asyncio.create_task(snapshots.get("national"))
    await asyncio.sleep(0)
    impatient.cancel()
    source.gate.set()
    assert (await patient).value.key == "national"
    assert len(source.calls) == 1


async def test_an_older_refresh_never_replaces_a_newer_one() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock)
    held = source.gate = asyncio.Event()
    slow = asyncio.create_task(snapshots.get("national"))  # started first, before the notice
    for _ in range(100):  # until the first computation is under way, held at the gate
        if source.calls:
            break
        await asyncio.sleep(0)
    assert source.calls == [["national"]]
    source.gate = None
    clock.now += 0.01
    snapshots.invalidate(["national"])
    source.values["national"] = 9
    fresh = await snapshots.get("national")  # a second refresh, after the notice
    assert fresh.value.value == 9
    held.set()  # the first refresh lands after the newer one
    assert await slow is fresh
    assert snapshots.current("national") is fresh


async def test_the_least_recently_read_key_is_evicted_past_the_bound() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock, max_entries=2)
    await snapshots.many(["a", "b"])
    await snapshots.get("a")
    await snapshots.get("c")
    assert snapshots.current("b") is None and snapshots.current("a") is not None


async def test_a_flood_of_distinct_keys_never_holds_more_than_the_byte_budget() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock, max_bytes=2_000, weight=lambda s: 10 * len(s.value.key))
    for n in range(500):  # e.g. /v1/series with a different `from` each time
        await snapshots.get(f"national#range{n}")
        assert snapshots.held_bytes <= 2_000
    kept = [n for n in range(500) if snapshots.current(f"national#range{n}") is not None]
    assert len(kept) >= 2 and kept == list(range(500 - len(kept), 500))  # the most recently read
    assert snapshots.held_bytes == sum(
        10 * len(snapshots.current(f"national#range{n}").value.key)  # type: ignore[union-attr]
        for n in kept
    )
    await snapshots.get(f"national#range{kept[0]}")  # read again: it is now the newest
    await snapshots.get("national#another")
    assert snapshots.current(f"national#range{kept[0]}") is not None


async def test_one_body_over_the_byte_budget_is_still_served_and_kept_alone() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock, max_bytes=10, weight=lambda s: 100)
    await snapshots.get("a")
    big = await snapshots.get("b")
    assert snapshots.current("a") is None and snapshots.current("b") is big


async def test_readers_of_a_steadily_changing_key_never_wait_for_its_refresh() -> None:
    source, clock = Source(), Clock()
    snapshots = cache(source, clock)
    await snapshots.get("national")
    snapshots.invalidate(["national"])
    first = await snapshots.get("national")  # the first change in a while: waited for
    source.gate = asyncio.Event()  # from now on every computation hangs until released
    clock.now += 0.1
    snapshots.invalidate(["national"])
    # Served at once (the gated refresh runs behind); a wait would never end.
    assert await asyncio.wait_for(snapshots.get("national"), 5) is first
    assert len(source.calls) == 3  # the refresh behind the readers did start
    source.gate.set()
