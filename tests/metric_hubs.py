"""Two hubs that apply records and serve metrics: one in memory, one on a real Valkey.

`MemoryHub` folds each StatePlan into dictionaries laid out like the Redis
state (buckets, SitRep days, gauge members); `RedisHub` writes the same plans
with the production store (the Lua apply script, times to live, trimming) into
Valkey, and reads them with the production reader. Both serve through the real
FiguresService, rendered as the API renders it, so a test reads exactly the
body `/v1/metrics` returns. The metric tests run every case against both: a
contract that the in-memory oracle and the real store agree.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from hub.adapters.redis.reads import RedisStateReader
from hub.adapters.redis.state import RedisStateStore
from hub.api.render import figures_json
from hub.domain.feeds import FEEDS, FeedKind
from hub.domain.metrics import Params, ms
from hub.domain.orgs import Organisation, ReferenceData, Region, Site
from hub.domain.plan import Planner, StatePlan, Version
from hub.domain.triage import Judgement, LevelRule, ScopedThresholds, judge
from hub.domain.validation import Invalid, entity_key, to_canonical, validate
from hub.domain.windows import LONDON, Bucket
from hub.ports import Progress, StateReader
from hub.services.figures import FiguresService

REF = ReferenceData.build(
    [Region("Y60", "Midlands"), Region("Y62", "North West")],
    [
        Organisation("RX9", "East Midlands Ambulance Service", "Y60", ("ambulance",)),
        Organisation("RYA", "West Midlands Ambulance Service", "Y60", ("ambulance",)),
        Organisation("RX7", "North West Ambulance Service", "Y62", ("ambulance", "nhs111")),
        Organisation("NNJ", "DHU Health Care", "Y60", ("nhs111",)),
        Organisation("RWE", "University Hospitals of Leicester", "Y60", ("acute",)),
        Organisation("RX1", "Nottingham University Hospitals", "Y60", ("acute",)),
        Organisation("RRK", "University Hospitals Birmingham", "Y60", ("acute",)),
        Organisation("R0A", "Manchester University", "Y62", ("acute",)),
    ],
    [
        Site("RWEAA", "Leicester Royal Infirmary", "RWE"),
        Site("RX1CC", "Queen's Medical Centre", "RX1"),
        Site("RX1RA", "City Hospital", "RX1"),
        Site("RRK15", "Queen Elizabeth Hospital", "RRK"),
        Site("R0A66", "Manchester Royal Infirmary", "R0A"),
    ],
)
NOW = datetime(2026, 11, 23, 10, 10, tzinfo=UTC)  # a GMT Monday


def z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(minutes: float) -> str:
    """Return the time `minutes` before NOW, as ISO 8601 UTC."""
    return z(NOW - timedelta(minutes=minutes))


def make_version(
    ref: ReferenceData, feed_name: str, raw: dict[str, Any], received_at: datetime, n: int
) -> Version:
    """Validate a record (it must be valid) into the version a worker would apply."""
    feed = FEEDS[feed_name]
    record = validate(feed, raw, ref=ref, received_at=received_at)
    assert not isinstance(record, Invalid), record.errors
    when = getattr(record, feed.event_time_field)
    if feed.kind is FeedKind.SITREP:  # a SitRep's date counts from its London midnight
        when = datetime(when.year, when.month, when.day, tzinfo=LONDON)
    return Version(
        feed, entity_key(feed, record), record, dict(to_canonical(feed, record)),
        ms(received_at), getattr(record, feed.org_field), ms(when), f"test:{n:09d}",
    )  # fmt: skip


def incident(n: int, start: str, arrival: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"incident_id": f"I{n}", "ambulance_trust": "RX9", "category": "C2",
            "clock_start_at": start, "first_arrival_at": arrival} | extra  # fmt: skip


class MemoryHub:
    """Apply records as the workers do and serve metrics as the API does, all in memory."""

    def __init__(self, ref: ReferenceData = REF, params: Params | None = None) -> None:
        self.ref = ref
        self._planner = Planner(ref, params or Params())
        self._buckets: dict[tuple[str, Bucket], Counter[str]] = defaultdict(Counter)
        self._days: dict[tuple[str, str], dict[date, Counter[str]]] = defaultdict(dict)
        self._gauges: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        self._entities: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._heard: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        self._sent = 0
        self.unchanged = 0

    async def send(self, feed_name: str, raw: dict[str, Any], received_at: datetime = NOW) -> None:
        """Validate one record (it must be valid) and apply it."""
        await self.send_many(feed_name, [(raw, received_at)])

    async def send_many(
        self, feed_name: str, received: Sequence[tuple[dict[str, Any], datetime]]
    ) -> None:
        """Validate records (they must be valid) and apply them as one batch, in order."""
        versions = []
        for raw, at in received:
            versions.append(make_version(self.ref, feed_name, raw, at, self._sent))
            self._sent += 1
        last = max(at for _, at in received)
        self._fold(self._planner.plan(versions, self._entities, ms(last)))

    def _fold(self, plan: StatePlan) -> None:
        for bucket, counters in plan.counters.items():
            self._buckets[bucket].update(counters)
        for (feed, day, scope), totals in plan.day_counters.items():
            self._days[(feed, scope)].setdefault(day, Counter()).update(totals)
        for gauge, members in plan.presence_remove.items():
            for member in members:
                self._gauges[gauge].pop(member, None)
        for gauge, added in plan.presence_add.items():
            self._gauges[gauge].update(added)
        self._entities.update({k: v for k, (v, _) in plan.entities.items()})
        for feed, org, hour in plan.heard:
            self._heard[feed][org].add(hour)
        self.unchanged += plan.unchanged

    async def read_buckets(self, requests: Sequence[tuple[str, Bucket]]) -> list[dict[str, int]]:
        return [dict(self._buckets.get(r, {})) for r in requests]

    async def read_window_sums(
        self, requests: Sequence[tuple[str, Mapping[str, Sequence[Bucket]]]]
    ) -> list[dict[str, dict[str, int]]]:
        out = []
        for scope, windows in requests:
            sums: dict[str, dict[str, int]] = {}
            for name, buckets in windows.items():
                total: Counter[str] = Counter()
                for bucket in buckets:
                    total.update(self._buckets.get((scope, bucket), {}))
                sums[name] = dict(total)
            out.append(sums)
        return out

    async def read_gauges(
        self, requests: Sequence[tuple[str, str, int]]
    ) -> list[tuple[int, int | None]]:
        out: list[tuple[int, int | None]] = []
        for gauge, scope, since in requests:
            starts = [s for s in self._gauges.get((gauge, scope), {}).values() if s >= since]
            out.append((len(starts), min(starts, default=None)))
        return out

    async def read_sitreps(
        self, requests: Sequence[tuple[str, str]]
    ) -> list[tuple[date, dict[str, int]] | None]:
        latest = [max(self._days.get(r, {}), default=None) for r in requests]
        return [
            None if d is None else (d, dict(self._days[r][d]))
            for r, d in zip(requests, latest, strict=True)
        ]

    @property
    def store(self) -> Any:
        """The hub itself: it reads like a StateReader (buckets, gauges, heard hours)."""
        return self

    async def read_heard(self, feed: str, first_hour: int, last_hour: int) -> dict[str, set[int]]:
        return {
            org: {h for h in hours if first_hour <= h <= last_hour}
            for org, hours in self._heard[feed].items()
        }

    async def served(
        self, scope: str, now: datetime = NOW, over_lines: Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        """Return the `metrics` of `GET /v1/metrics/{scope}` at `now` (gauge lines: config's)."""
        return await served(self.ref, self, scope, now, over_lines)  # type: ignore[arg-type]  # reads only

    async def window(self, metric: str, scope: str, now: datetime = NOW) -> dict[str, Any]:
        return (await self.served(scope, now))[metric]["windows"]  # type: ignore[no-any-return]

    async def value(self, metric: str, scope: str, now: datetime = NOW) -> Any:
        return (await self.served(scope, now))[metric]["value"]


class RedisHub:
    """Apply records with the production store into Valkey; serve metrics from there."""

    TOPIC = "contract"

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        ref: ReferenceData = REF,
        params: Params | None = None,
    ) -> None:
        self.ref = ref
        self._now = ms(NOW)
        self._store = RedisStateStore(client, prefix, clock_ms=lambda: self._now)
        self._reads = RedisStateReader(client, prefix)
        self._planner = Planner(ref, params or Params())
        self._sent = 0
        self.unchanged = 0

    async def send(self, feed_name: str, raw: dict[str, Any], received_at: datetime = NOW) -> None:
        """Validate one record (it must be valid) and apply it, as a worker's transaction does."""
        version = make_version(self.ref, feed_name, raw, received_at, self._sent)
        self._sent += 1
        self._now = ms(received_at)  # keys live as long from this instant as from the worker's
        ident = (version.feed.name, version.key)
        async with self._store.transaction(self.TOPIC, 0, [ident]) as tx:
            progress = await tx.progress()
            plan = self._planner.plan([version], await tx.entities(), self._now)
            tx.write(plan, Progress(1 if progress is None else progress.next_offset + 1))
        self.unchanged += plan.unchanged

    @property
    def store(self) -> RedisStateReader:
        """The production reader, for services that read what the store wrote."""
        return self._reads

    async def served(
        self, scope: str, now: datetime = NOW, over_lines: Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        """Return the `metrics` of `GET /v1/metrics/{scope}` at `now` (gauge lines: config's)."""
        return await served(self.ref, self._reads, scope, now, over_lines)

    async def window(self, metric: str, scope: str, now: datetime = NOW) -> dict[str, Any]:
        return (await self.served(scope, now))[metric]["windows"]  # type: ignore[no-any-return]

    async def value(self, metric: str, scope: str, now: datetime = NOW) -> Any:
        return (await self.served(scope, now))[metric]["value"]


Hub = MemoryHub | RedisHub


async def served(
    ref: ReferenceData,
    reads: StateReader,
    scope: str,
    now: datetime,
    over_lines: Mapping[str, int] | None = None,
) -> Any:
    """Return the `metrics` of `GET /v1/metrics/{scope}` at `now`, with no RAG lines."""
    figures = FiguresService(
        ref, reads, ScopedThresholds({}), lambda: ms(now), over_lines=over_lines
    )
    (computed,) = await figures.many([figures.resolve(scope)], ms(now))
    return json.loads(json.dumps(figures_json(computed)[1]))["metrics"]


def judged(rule: LevelRule | None, served: dict[str, Any], metric: str) -> Judgement:
    """Judge a served figure by a level's rule, reading its numbers as the figures service does."""
    window = "" if rule is None else rule.threshold.window

    def at(entry: dict[str, Any]) -> float | None:
        value = entry["windows"].get(window) if "windows" in entry else entry.get("value")
        return None if isinstance(value, bool) or not isinstance(value, int | float) else value

    of = None if rule is None or rule.of is None else served.get(rule.of)
    return judge(rule, at(served[metric]), None if of is None else at(of), 0)
