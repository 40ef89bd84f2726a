"""Are the figures keeping up with what was accepted? Records accepted but not yet applied.

A feed's freshness says when its records were *received*; a worker that
stopped applying them would leave every figure "live" while it falls further
behind. So the API notes, as it writes each chunk to Kafka, how far it has
written each partition and when; the workers' stored progress says how far
each partition is applied. Per feed, the records between the two, and the age
of the oldest of them, say how far the figures lag acceptance. Past a limit
(HUB_FIGURES_DELAYED_AFTER_S) the feed's figures are *delayed*: their tiles
say so and their RAG becomes `unknown`, like a figure whose inputs are late.

Counts are offsets: on the API's topics, one offset is one record. The age is
that of the oldest accept the API noted beyond the applied offset, within the
second the API groups its notes by.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hub.domain.feeds import route_of_topic


@dataclass(frozen=True, slots=True)
class Behind:
    """One partition's records accepted but not yet applied, and when the oldest was accepted."""

    topic: str
    partition: int
    records: int
    oldest_accepted_ms: int


@dataclass(frozen=True, slots=True)
class FeedDelay:
    """How far one feed's figures lag what the hub accepted of it."""

    feed: str
    records: int  # accepted, not yet applied
    oldest_s: float  # how long ago the oldest of them was accepted
    delayed: bool  # past the limit: the figures cannot be trusted as current

    @property
    def text(self) -> str:
        noun = "record" if self.records == 1 else "records"
        return (
            f"figures delayed: {self.records:,} {noun} not yet applied "
            f"(oldest {age_words(self.oldest_s)})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "pending_records": self.records,
            "oldest_pending_s": round(self.oldest_s, 1),
            "delayed": self.delayed,
            "text": self.text if self.delayed else None,
        }


def feed_delays(
    behind: Iterable[Behind], prefix: str, now_ms: int, after_s: float
) -> dict[str, FeedDelay]:
    """Sum partitions by feed (the API's own topics only); judge each against `after_s`."""
    records: dict[str, int] = {}
    oldest: dict[str, int] = {}
    for b in behind:
        route = route_of_topic(b.topic, prefix)
        if route is None or route[1] is not None or b.records <= 0:
            continue  # not a feed topic, or a direct producer's (the API writes none there)
        feed = route[0].name
        records[feed] = records.get(feed, 0) + b.records
        oldest[feed] = min(oldest.get(feed, b.oldest_accepted_ms), b.oldest_accepted_ms)
    out: dict[str, FeedDelay] = {}
    for feed, n in records.items():
        age = max(0.0, (now_ms - oldest[feed]) / 1000)
        out[feed] = FeedDelay(feed, n, age, age >= after_s)
    return out


def age_words(seconds: float) -> str:
    """Say an age the way a control room reads it: 45 s, 3 min, 2 h 5 min."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"
