"""Interfaces between the services and the infrastructure that implements them.

Only `typing.Protocol`s live here: implementations are in `hub/adapters/`,
chosen in one place, `hub/bootstrap.py`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from hub.domain.delays import Behind
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

    async def publish(self, records: Sequence[AcceptedRecord]) -> Mapping[tuple[str, int], int]:
        """Return once every record is durably written; raise BrokerUnavailable otherwise.

        Return, for each partition written, the offset just past the last record written.
        """
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
    truncated: bool = False  # cut to size: `original`, `errors` or a text (hub.adapters.codec)
    errors_more: int = 0  # errors left out of `errors`


class AcceptedOffsets(Protocol):
    """How far the API has written each feed partition, and when: how far application lags.

    Shared by every API process (Redis); workers forget a partition whose log
    was re-created, as its old offsets say nothing about the new log.
    """

    async def note(self, ends: Mapping[tuple[str, int], int], at_ms: int) -> None:
        """Remember that each partition holds records written up to `ends` (exclusive) at `at_ms`."""
        ...

    async def behind(self, applied: Mapping[tuple[str, int], int]) -> list[Behind]:
        """Return each partition with records written beyond `applied`; forget those applied."""
        ...

    async def forget(self, topic: str, partition: int) -> None:
        """Forget what was written to a partition (its log was deleted and re-created)."""
        ...


class DeadLetterSink(Protocol):
    async def publish(self, letters: Sequence[DeadLetter]) -> None: ...


@dataclass(slots=True)
class Claimed:
    """Outbox entries claimed for publishing: the letters, and entries that are not letters."""

    letters: list[tuple[str, DeadLetter]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (entry id, why)


class DeadLetterOutbox(Protocol):
    """Dead letters decided by committed transactions, waiting to be published (Redis)."""

    async def claim(self, consumer: str, limit: int) -> Claimed:
        """Return up to `limit` entries (with their ids) for `consumer` to publish.

        Letters another consumer claimed and left unfinished for long enough
        (it died) are handed on too, so every letter is published at least once.
        """
        ...

    async def done(self, ids: Sequence[str]) -> None:
        """Forget letters that were published."""
        ...

    async def park(self, entry_id: str, reason: str) -> None:
        """Move an entry that cannot be published aside (a capped store), out of the way."""
        ...

    async def trim(self, keep: int) -> int:
        """Drop the oldest letters beyond `keep`; return how many were dropped."""
        ...

    async def backlog(self) -> int:
        """Return how many letters wait to be published."""
        ...


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a partition's records are applied: stored with the state they produced.

    `next_offset` is where the next unapplied record may start. `fingerprint`
    is (offset, timestamp ms) of the last record applied, so a worker can tell
    the same log from a deleted and re-created one with the same offsets.
    `history_end`, while the partition is being read from its beginning (a
    rebuild, or Redis lost its state), is where the log ended when that began:
    records before it are history, applied without judging them as replays.
    """

    next_offset: int
    fingerprint: tuple[int, int] | None = None
    history_end: int | None = None


class StateTransaction(Protocol):
    """One atomic update of the serving state for one partition's batch."""

    async def progress(self) -> Progress | None:
        """Return how far this partition is applied, or None if nothing was ever applied."""
        ...

    async def entities(self) -> dict[tuple[str, str], dict[str, Any] | None]:
        """Return the stored current version of each entity named when the transaction began."""
        ...

    def write(
        self, plan: StatePlan, progress: Progress, dead_letters: Sequence[DeadLetter] = ()
    ) -> None:
        """Queue the plan's writes, the new progress and dead letters for the outbox.

        They happen at once on exit, or not at all: dead letters are published
        from the outbox only after the transaction that decided them committed.
        """
        ...


class StateStore(Protocol):
    """Serving state in Redis as the workers write it: one transaction per batch, and progress."""

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

    async def offsets(self) -> dict[tuple[str, int], int]:
        """Return the next offset to apply of every partition that has state."""
        ...

    async def progress(self) -> dict[tuple[str, int], Progress]:
        """Return how far every partition that has state is applied."""
        ...

    async def ping(self) -> bool: ...


class StateReader(Protocol):
    """Serving state in Redis as queries read it: windows, gauges, SitReps, buckets, freshness.

    Every read is of the generation queries are served, and never of one being dropped.
    """

    async def read_buckets(self, requests: Sequence[tuple[str, Bucket]]) -> list[dict[str, int]]:
        """Return the counters of each (scope, bucket); empty where nothing was counted."""
        ...

    async def read_window_sums(
        self, requests: Sequence[tuple[str, Mapping[str, Sequence[Bucket]]]]
    ) -> list[dict[str, dict[str, int]]]:
        """For each (scope, {window: buckets}) return each window's counters summed over its
        buckets, added up where the data is rather than shipped bucket by bucket."""
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

    async def read_heard(self, feed: str, first_hour: int, last_hour: int) -> dict[str, set[int]]:
        """Return, per organisation, the hours from `first_hour` to `last_hour` it was heard from."""
        ...

    async def offsets(self) -> dict[tuple[str, int], int]:
        """Return how far the workers have applied each partition (how far figures lag)."""
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

    async def recent(
        self, org: str, feed: str | None, limit: int
    ) -> tuple[list[Mapping[str, Any]], bool]:
        """Return up to `limit` rejections, newest first, and whether a size bound cut them."""
        ...


@dataclass(frozen=True, slots=True)
class StoredToken:
    id: str
    org: str
    feeds: tuple[str, ...] | None
    role: str
    created_at: str
    name: str | None = None  # a viewer's display name, shown on acknowledgements and notes
    job_role: str | None = None  # e.g. "Regional on-call director"


class TokenStore(Protocol):
    async def put(self, token_hash: str, token: StoredToken) -> None: ...

    async def get(self, token_hash: str) -> StoredToken | None: ...

    async def revoke(self, token_id: str) -> bool: ...


class AcceptedLog(Protocol):
    """The fingerprint of the latest version the hub accepted of each entity (for receipts)."""

    async def fingerprints(self, feed: str, keys: Sequence[str]) -> list[str | None]:
        """Return each entity's latest accepted fingerprint, or None if none is remembered."""
        ...

    async def remember(self, feed: str, entries: Sequence[tuple[str, str, int]]) -> None:
        """Remember (key, fingerprint, forget at ms) for versions Kafka has acknowledged."""
        ...


@dataclass(frozen=True, slots=True)
class GenerationState:
    """Which generation workers write and queries read, and how far a rebuild has come."""

    writing: int
    serving: int
    done: int | None = None  # records replayed, while a rebuild runs
    total: int | None = None
    updated_at_s: float | None = None

    @property
    def rebuilding(self) -> bool:
        return self.writing != self.serving


class GenerationReader(Protocol):
    async def state(self) -> GenerationState:
        """Return the generations written and served, and a running rebuild's progress."""
        ...


class AuditLog(Protocol):
    """What administrators and submitters did: token changes and every ingest receipt."""

    async def record(self, actor: str, action: str, details: Mapping[str, Any]) -> None:
        """Append one event (`actor` is a token id, never a token)."""
        ...

    async def recent(self, limit: int, action: str | None = None) -> list[dict[str, Any]]:
        """Return the latest events, newest first."""
        ...


class LivePublisher(Protocol):
    """Tells API processes which scopes changed, so live streams can refresh."""

    async def publish(self, scopes: Sequence[str]) -> None: ...


class StreamTelemetry(Protocol):
    """What an API process reports about its live streams (Prometheus in production)."""

    def opened(self) -> None: ...

    def closed(self) -> None: ...

    def refused(self, limit: str) -> None:
        """Count a stream refused at a cap: `process` or `token`."""
        ...

    def dropped(self) -> None:
        """Count a stream closed because its client fell behind."""
        ...


@dataclass(frozen=True, slots=True)
class Fetched:
    """One message of a feed partition as the consumer hands it on."""

    offset: int
    value: bytes | None
    timestamp_ms: int
    headers: Sequence[tuple[str, bytes | None]] = ()
    key: bytes | None = None
    problem: str | None = None  # the Kafka client could not read the message at all: why


TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class PartitionRead:
    """What one fetch read from one partition: its records and the offsets they account for.

    `start` is the consumer's position before the fetch and `end` its position
    after. Kafka returns the first record at or after a position, so offsets in
    [start, end) that are not among `records` hold nothing to apply (compacted
    away, transaction markers, aborted records).
    """

    start: int
    end: int
    records: Sequence[Fetched]
    from_start: bool = False  # `start` is the log's beginning, read because nothing is stored
    log_end: int | None = None  # where the log ended at the fetch (known when `from_start`)


@dataclass(frozen=True, slots=True)
class PositionLost:
    """The log no longer holds a record at the partition's position.

    Either records were deleted before they were applied (`position` below
    `log_start`: retention, DeleteRecords) or the log was deleted and
    re-created (`reset`: the position is past its end, or a different record
    sits where the last applied one was).
    """

    position: int
    log_start: int
    log_end: int
    reset: bool


class FeedSource(Protocol):
    """A consumer-group member's view of the feed partitions it holds (Kafka)."""

    async def fetch(
        self, timeout_ms: int = 500
    ) -> dict[TopicPartition, PartitionRead | PositionLost]:
        """Return what the next fetch found in each partition that has news."""
        ...

    async def seek(self, topic: str, partition: int, offset: int | None) -> None:
        """Read a partition from `offset` next; None means from its beginning."""
        ...

    def applied(self, topic: str, partition: int) -> None:
        """Note that state now exists for a partition that was read from its beginning."""
        ...

    def pause(self, topic: str, partition: int) -> None:
        """Stop fetching a partition (it is backing off after a failure)."""
        ...

    def resume(self, topic: str, partition: int) -> None: ...

    def lag(self, applied: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Return records not yet applied in each partition held."""
        ...

    def held(self) -> tuple[set[TopicPartition], set[TopicPartition]]:
        """Return the partitions held, and those of them not yet placed (assigned, unread)."""
        ...


class MessageDecoder(Protocol):
    def __call__(
        self, topic: str, feed: Feed, message: Fetched, main: bool
    ) -> Envelope | Undecodable:
        """Read a feed-topic message: a hub envelope, a bare record, or why it is not one to apply.

        `main`: a main feed topic, where only envelopes the API signed count; otherwise an
        organisation's direct topic, where every record is the owner's. Never raises.
        """
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

    def offsets_lost(self, topic: str, partition: int, count: int) -> None:
        """Count records deleted from the log before they were applied."""
        ...

    def log_reset(self, topic: str, partition: int) -> None:
        """Count a log found deleted and re-created."""
        ...

    def apply_failed(self, topic: str, partition: int, reason: str) -> None:
        """Count a batch that failed and will be read again after a backoff."""
        ...

    def outbox_backlog(self, letters: int) -> None:
        """Show how many dead letters wait to be published."""
        ...

    def letters_parked(self, reason: str) -> None:
        """Count a dead letter moved aside because it could not be published."""
        ...

    def letters_dropped(self, count: int) -> None:
        """Count dead letters dropped unpublished because the outbox was full."""
        ...

    def stalled(self, partitions: int) -> None:
        """Show how many held partitions have records waiting and make no progress."""
        ...


class ForecastStore(Protocol):
    """The forecaster's latest forecasts, one document per (metric, scope)."""

    async def put(self, docs: Mapping[tuple[str, str], Mapping[str, Any]], ttl_s: int) -> None:
        """Replace the stored forecast of each (metric, scope); each expires after `ttl_s`."""
        ...

    async def get(self, metric: str, scope: str) -> dict[str, Any] | None:
        """Return the stored forecast of (metric, scope), or None if there is none."""
        ...


class AlertLog(Protocol):
    """What people did about alerts, kept outside serving state (Redis, not rebuilt)."""

    async def memories(self) -> dict[str, dict[str, Any]]:
        """Return each active alert group's memory: since when, worst mark, last worsened."""
        ...

    async def save_memories(
        self, changed: Mapping[str, Mapping[str, Any]], cleared: Sequence[str]
    ) -> None:
        """Store the memories that changed and forget those of groups that cleared."""
        ...

    async def acks(self) -> dict[str, dict[str, Any]]:
        """Return the acknowledgement in force of each alert group that has one."""
        ...

    async def acknowledge(self, alert_id: str, ack: Mapping[str, Any]) -> None:
        """Store an acknowledgement, replacing any earlier one, and add it to the audit trail."""
        ...

    async def expire(self, alert_id: str, event: Mapping[str, Any]) -> bool:
        """End an acknowledgement and audit `event`; False if it had already ended."""
        ...

    async def trail(self, alert_id: str | None, limit: int) -> list[dict[str, Any]]:
        """Return the newest audit events, of one alert group or of all."""
        ...


class AnnotationStore(Protocol):
    """Notes on a scope, metric and time, kept outside serving state (Redis, not rebuilt)."""

    async def add(self, note: Mapping[str, Any]) -> None:
        """Store a note (with its `id` and `at`, the instant it is about, in ms)."""
        ...

    async def between(self, from_ms: int, to_ms: int, limit: int) -> list[dict[str, Any]]:
        """Return up to `limit` notes about instants in [from_ms, to_ms], newest first."""
        ...


@dataclass(frozen=True, slots=True)
class RedisReplication:
    """What the Redis the hub writes to says of its replicas, against what the deployment expects."""

    role: str  # "master" for a primary; "slave" means the hub is pointed at a replica
    replicas: int  # replicas connected and in sync (a replica still loading a copy is not)
    expected: int  # HUB_REDIS_MIN_REPLICAS (at least 1 with Sentinel)

    @property
    def degraded(self) -> bool:
        """True when losing this node would stop the hub: too few replicas to take over."""
        return self.role != "master" or self.replicas < self.expected


class ReplicationProbe(Protocol):
    """Reads the replication state of the Redis primary, now and in the background."""

    async def read(self) -> RedisReplication | None:
        """Return the state now, or None when Redis does not answer."""
        ...

    def start(self) -> None: ...

    async def stop(self) -> None: ...
