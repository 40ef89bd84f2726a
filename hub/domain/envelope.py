"""What travels on a feed topic: a record plus where and when the hub received it.

Records pushed over HTTP are wrapped in an envelope by the ingest service.
Records a trust produces to a feed topic itself arrive bare; for those the
message's own timestamp stands in for `received_at`, so validating a record
again on replay gives the same answer as it did the first time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.domain.feeds import Feed


@dataclass(frozen=True, slots=True)
class Envelope:
    """A record as submitted, with its provenance."""

    feed: Feed
    record: Mapping[str, Any]
    received_at: datetime
    source: str  # "api" or "kafka"
    submitter_org: str | None = None
    submission_id: str | None = None
    index: int | None = None
    # Signed by the API, which validated the record: a worker need not validate it again.
    trusted: bool = False


# Why a message on a feed topic is not a record to apply: the reasons its dead letter gives.
UNDECODABLE = "undecodable message"
UNSIGNED = "unsigned record"  # on a main feed topic, without the API's signature
INVALID_SIGNATURE = "invalid signature"  # a signature that does not verify
REPLAYED = "replayed envelope"  # signed, but accepted too long ago to apply (`plan.replayed`)


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A message that cannot be applied as a record: unreadable, or not one the hub counts."""

    feed: Feed
    reason: str
    original: str  # the raw value, as text where possible
    received_at: datetime  # the message's timestamp (the epoch when it has none usable)
    kind: str = UNDECODABLE
