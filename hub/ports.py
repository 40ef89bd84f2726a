"""Interfaces between the services and the infrastructure that implements them.

Only `typing.Protocol`s live here: implementations are in `hub/adapters/`,
chosen in one place, `hub/bootstrap.py`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from hub.domain.envelope import Envelope, Undecodable
from hub.domain.errors import FieldError
from hub.domain.feeds import Feed
from hub.domain.plan import StatePlan
from hub.domain.windows import Bucket


@dataclass(frozen=True, slots=True)
class AcceptedRecord:
    """A validated record on its way to its feed topic."""

    feed: Feed
    key: str
    canonical: Mapping[str, Any]
    received_at: datetime
    submitter_org: str
    submission_id: str
    index: int


class RecordSink(Protocol):
    """Writes accepted records durably (Kafka, acks=all)."""

    async def publish(self, records: Sequence[AcceptedRecord]) -> None:
        """Return once every record is durably written; raise BrokerUnavailable otherwise."""
        ...

    async def ping(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected record with the reasons, for `uec.deadletter` and `GET /v1/rejections`."""

    id: str  # stable: submission:index or topic:partition:offset, so duplicates collapse
    feed: str
    org: str | None
    source: str
    received_at: str
    reason: str
    errors: tuple[tuple[str, str], ...]
    original: Any
    index: int | None = None
    line: int | None = None
    key: str | None = None


class DeadLetterSink(Protocol):
    async def publish(self, letters: Sequence[DeadLetter]) -> None: ...


class StateTransaction(Protocol):
    """One atomic update of the serving state for one partition's batch."""

    async def offset(self) -> int | None:
        """Return the next offset to apply for this partition, or None if never applied."""
        ...

    async def entities(self) -> dict[tuple[str, str], dict[str, Any] | None]:
        """Return the stored current version of each entity named when the transaction began."""
        ...

    def write(self, plan: StatePlan, next_offset: int) -> None:
        """Queue the plan's writes and the new offset; they happen at once on exit or not at all."""
        ...


class StateStore(Protocol):
    """Serving state in Redis: window buckets, gauges, SitReps, entities and offsets."""

    def transaction(
        self, topic: str, partition: int, entity_keys: Sequence[tuple[str, str]]
    ) -> AbstractAsyncContextManager[StateTransaction]:
        """Open a transaction; raise StateConflict on exit if someone else changed the same state."""
        ...

    async def current_versions(
        self, keys: Sequence[tuple[str, str]]
    ) -> list[dict[str, Any] | None]:
        """Return the applied version of each (feed, entity key), outside any transaction."""
        ...

    async def read_buckets(self, requests: Sequence[tuple[str, Bucket]]) -> list[dict[str, int]]:
        """Return the counters of each (scope, bucket); empty where nothing was counted."""
        ...

    async def read_gauges(
        self, requests: Sequence[tuple[str, str, int]]
    ) -> list[tuple[int, int | None]]:
        """For each (gauge, scope, since_ms) return (members since then, earliest start or None)."""
        ...

    async def read_sitreps(
        self, requests: Sequence[tuple[str, str]]
    ) -> list[tuple[date, dict[str, int]] | None]:
        """For each (feed, scope) return the latest date submitted and its counters, or None."""
        ...

    async def read_sitrep_days(
        self, feed: str, scope: str, days: Sequence[date]
    ) -> list[dict[str, int]]: ...

    async def read_freshness(self, feed: str) -> tuple[dict[str, float], dict[str, float]]:
        """Return per-organisation last received and last event instants (ms) for a feed."""
        ...

    async def offsets(self) -> dict[tuple[str, int], int]:
        """Return the next offset to apply of every partition that has state."""
        ...

    async def ping(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One record of a request body, or why it could not be read."""

    index: int
    line: int | None
    raw: Mapping[str, Any] | None
    problem: FieldError | None = None
    original: Any = None  # what was sent, when it could not be read as a record (dead letters)


class BodyParser(Protocol):
    def __call__(self, feed: Feed, content_type: str | None, body: bytes) -> Iterator[ParsedItem]:
        """Return the body's records; raise BodyUnparseable or UnsupportedMediaType up front."""
        ...


class RejectionLog(Protocol):
    """Each organisation's recent rejections, for `GET /v1/rejections`."""

    async def record(self, letters: Sequence[DeadLetter]) -> None: ...

    async def recent(self, org: str, feed: str | None, limit: int) -> list[Mapping[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class StoredToken:
    id: str
    org: str
    feeds: tuple[str, ...] | None
    role: str
    created_at: str


class TokenStore(Protocol):
    async def put(self, token_hash: str, token: StoredToken) -> None: ...

    async def get(self, token_hash: str) -> StoredToken | None: ...

    async def revoke(self, token_id: str) -> bool: ...


class LivePublisher(Protocol):
    """Tells API processes which scopes changed, so live streams can refresh."""

    async def publish(self, scopes: Sequence[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Fetched:
    """One message of a feed partition as the consumer hands it on."""

    offset: int
    value: bytes | None
    timestamp_ms: int


TopicPartition = tuple[str, int]


class FeedSource(Protocol):
    """A consumer-group member's view of the feed partitions it holds (Kafka)."""

    async def fetch(self, timeout_ms: int = 500) -> dict[TopicPartition, list[Fetched]]:
        """Return the next batch of each partition that has messages."""
        ...

    async def seek(self, topic: str, partition: int, offset: int | None) -> None:
        """Read a partition from `offset` next; None means from its beginning."""
        ...

    def from_start(self, topic: str, partition: int, first_offset: int) -> bool:
        """Say whether a batch starting at `first_offset` starts where a rewind went."""
        ...

    def applied(self, topic: str, partition: int) -> None:
        """Note that state now exists for a partition that was rewound."""
        ...

    def lag(self, applied: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Return records not yet applied in each partition held."""
        ...


class MessageDecoder(Protocol):
    def __call__(
        self, feed: Feed, value: bytes | None, timestamp_ms: int
    ) -> Envelope | Undecodable:
        """Read a feed-topic message: a hub envelope, a bare record, or why it is unreadable."""
        ...


class WorkerTelemetry(Protocol):
    """What a stream worker reports (Prometheus in production)."""

    def paused(self, reason: str) -> None: ...

    def poison(self, feed: str) -> None: ...

    def dead_lettered(self, feed: str, reason: str) -> None: ...

    def batch_applied(
        self,
        seconds: float,
        processed: Mapping[str, int],
        visible_after_s: Sequence[tuple[str, float]],
    ) -> None:
        """Count one applied batch: records per feed, and each record's accept → visible time."""
        ...

    def set_lag(self, lags: Mapping[TopicPartition, int]) -> None: ...


class ForecastStore(Protocol):
    """The forecaster's latest forecasts, one document per (metric, scope)."""

    async def put(self, docs: Mapping[tuple[str, str], Mapping[str, Any]], ttl_s: int) -> None:
        """Replace the stored forecast of each (metric, scope); each expires after `ttl_s`."""
        ...

    async def get(self, metric: str, scope: str) -> dict[str, Any] | None:
        """Return the stored forecast of (metric, scope), or None if there is none."""
        ...
