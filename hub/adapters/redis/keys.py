"""Where everything lives in Redis.

Serving state (everything `hub rebuild` can recompute from the Kafka log) sits
under a generation, `{prefix}:g{n}:`. Workers write the generation named by
`{prefix}:gen`; queries read the same one, except during a rebuild, when
`{prefix}:serving` keeps them on the last complete generation until the new
one has caught up with the log:

    off:{topic}:{partition}      next offset to apply (string)
    offsets                      the names of those offset keys (set)
    fp                           per partition, "offset:timestamp" of the last record applied
                                 (hash), to tell a re-created log from the one applied
    hist                         per partition being read from its beginning, where the log
                                 ended when that began (hash): records before are history
    config                       digest of the reference data and settings counted by
    e:{feed}:{entity key}        the entity's applied version, canonical JSON (string, expires)
    b:{m|h|d}:{n}:{scope}        counters of one minute/hour/London-day bucket (hash, expires)
    z:{gauge}:{scope}            entities counting in a "now" gauge, scored by start (sorted set)
    s:{feed}:{day}:{scope}       SitRep counters for one date (hash, expires)
    sd:{feed}:{scope}            dates with SitReps (sorted set)
    fr:{feed} / fe:{feed}        last received / last event instant per organisation (sorted set)
    bulk:…                       a bulk rebuild's own bookkeeping while it fills a generation
                                 nobody reads yet (`hub/adapters/redis/bulk_store.py`)
    hh:{feed}                    "{org}:{hour}" for each hour an organisation was heard from (a
                                 record received, or about that hour), scored by the hour (sorted
                                 set, trimmed to the hourly buckets' retention): the outage record

Outside generations: tokens (`tok:{sha256}`, `tokid:{id}`), rejections
(`rej:{org}`), the dead-letter outbox (`outbox`, a stream that transactions
append to and workers drain to Kafka, and `outbox:parked`, a capped stream of
letters Kafka refused), the fingerprints of the latest
accepted version of each entity (`acc:{feed}:{key}`, for receipts),
how far the API has written each feed partition and when (`lag:{topic}:{partition}`,
a sorted set of one mark per second written: member the second's first accept
in ms, score the offset written up to then; `lag`, the set of those partitions;
marks are dropped once applied: see `hub/adapters/redis/acceptance.py`),
forecasts (`fc:{metric}:{scope}`, JSON, written hourly by `hub forecast`),
the audit trail (`audit`, a capped stream of token changes and ingest receipts),
the live-update channel (`live`), and what people said about alerts and
figures, which no replay of the log could recreate: alert memories
(`alert:mem`, since when each alert group is active and its worst mark),
acknowledgements in force (`alert:ack`), their audit trail (`alert:audit`,
a stream), and notes (`note:{id}`, indexed by the instant they are about in
`notes:at`).
"""

from __future__ import annotations

from datetime import date

from hub.domain.windows import Bucket


class Keys:
    """Build key names for one prefix and generation."""

    def __init__(self, prefix: str, generation: int = 0) -> None:
        self.prefix = prefix
        self.generation = generation
        self._g = f"{prefix}:g{generation}:"

    def at(self, generation: int) -> Keys:
        return Keys(self.prefix, generation)

    @property
    def gen(self) -> str:
        return f"{self.prefix}:gen"

    @property
    def serving(self) -> str:
        """During a rebuild, the generation queries read (absent otherwise: they read `gen`)."""
        return f"{self.prefix}:serving"

    @property
    def rebuild(self) -> str:
        """A running rebuild's progress (hash: done, total, at)."""
        return f"{self.prefix}:rebuild"

    @property
    def generation_pattern(self) -> str:
        return f"{self._g}*"

    def offset(self, topic: str, partition: int) -> str:
        return f"{self._g}off:{topic}:{partition}"

    @property
    def offset_prefix(self) -> str:
        return f"{self._g}off:"

    @property
    def offset_index(self) -> str:
        """The set of every partition's offset key, so offsets are read without a SCAN."""
        return f"{self._g}offsets"

    @property
    def config(self) -> str:
        """A digest of the reference data and settings this generation is counted by."""
        return f"{self._g}config"

    @property
    def fingerprints(self) -> str:
        return f"{self._g}fp"

    def bulk(self, name: str) -> str:
        """A bulk rebuild's bookkeeping key in this generation (progress, checkpoints)."""
        return f"{self._g}bulk:{name}"

    @property
    def history_ends(self) -> str:
        return f"{self._g}hist"

    def entity(self, feed: str, key: str) -> str:
        return f"{self._g}e:{feed}:{key}"

    def bucket(self, scope: str, bucket: Bucket) -> str:
        return f"{self._g}b:{bucket.resolution.value}:{bucket.number}:{scope}"

    def gauge(self, gauge: str, scope: str) -> str:
        return f"{self._g}z:{gauge}:{scope}"

    def sitrep(self, feed: str, day: date, scope: str) -> str:
        return f"{self._g}s:{feed}:{day.toordinal()}:{scope}"

    def sitrep_dates(self, feed: str, scope: str) -> str:
        return f"{self._g}sd:{feed}:{scope}"

    def received(self, feed: str) -> str:
        return f"{self._g}fr:{feed}"

    def events(self, feed: str) -> str:
        return f"{self._g}fe:{feed}"

    def heard(self, feed: str) -> str:
        return f"{self._g}hh:{feed}"

    def token(self, token_hash: str) -> str:
        return f"{self.prefix}:tok:{token_hash}"

    def token_id(self, token_id: str) -> str:
        return f"{self.prefix}:tokid:{token_id}"

    def rejections(self, org: str) -> str:
        return f"{self.prefix}:rej:{org}"

    @property
    def audit(self) -> str:
        """Token administration and ingest receipts (a capped stream)."""
        return f"{self.prefix}:audit"

    @property
    def outbox(self) -> str:
        return f"{self.prefix}:outbox"

    @property
    def outbox_parked(self) -> str:
        """Dead letters that could not be published, moved aside (a capped stream)."""
        return f"{self.prefix}:outbox:parked"

    def accepted(self, feed: str, key: str) -> str:
        return f"{self.prefix}:acc:{feed}:{key}"

    @property
    def lag_partitions(self) -> str:
        """The partitions the API has written to, as `topic:partition` (set)."""
        return f"{self.prefix}:lag"

    def lag_marks(self, topic: str, partition: int) -> str:
        return f"{self.prefix}:lag:{topic}:{partition}"

    @property
    def live(self) -> str:
        return f"{self.prefix}:live"

    @property
    def alert_memory(self) -> str:
        return f"{self.prefix}:alert:mem"

    @property
    def alert_acks(self) -> str:
        return f"{self.prefix}:alert:ack"

    @property
    def alert_audit(self) -> str:
        return f"{self.prefix}:alert:audit"

    def note(self, note_id: str) -> str:
        return f"{self.prefix}:note:{note_id}"

    @property
    def notes_by_time(self) -> str:
        return f"{self.prefix}:notes:at"
