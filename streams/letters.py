"""The dead letters a worker writes for messages it does not apply, each saying why.

Every message on a feed partition is either applied or dead-lettered once, in
the same transaction as the partition's progress (`streams.apply`). A letter
names an organisation only when the organisation submitted what it holds, so
that no one else's messages (forged, unsigned, replayed) fill its rejection
list.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hub.domain.envelope import REPLAYED, Envelope, Undecodable
from hub.domain.plan import Version, version_kept_ms
from hub.domain.validation import Invalid
from hub.domain.windows import DAY_MS
from hub.ports import DeadLetter

INTERNAL_ERROR = "internal error"


def invalid(where: str, e: Envelope, result: Invalid) -> DeadLetter:
    """Return the letter of a record that failed validation (its organisation may list it)."""
    org = e.record.get(e.feed.org_field)
    return DeadLetter(
        id=f"{e.submission_id}:{e.index}" if e.submission_id else where,
        feed=e.feed.name,
        org=e.submitter_org or (org if isinstance(org, str) else None),
        source=e.source if e.source != "kafka" else f"kafka:{where}",
        received_at=e.received_at.isoformat(),
        reason="invalid record",
        errors=tuple((err.field, err.message) for err in result.errors),
        original=dict(e.record),
        index=e.index,
    )


def undecodable(where: str, u: Undecodable) -> DeadLetter:
    """Return the letter of a message that is not a record the hub counts (`u.kind` says why)."""
    return DeadLetter(
        id=where,
        feed=u.feed.name,
        org=None,  # nothing in it can be believed
        source=f"kafka:{where}",
        received_at=u.received_at.isoformat(),
        reason=u.kind,
        errors=(("", u.reason),),
        original=u.original,
    )


def unreadable(where: str, content: Envelope | Undecodable, exc: Exception) -> DeadLetter:
    """Return the letter of a decoded message the hub still could not make a version of."""
    original = dict(content.record) if isinstance(content, Envelope) else content.original
    return DeadLetter(
        id=where,
        feed=content.feed.name,
        org=None,
        source=f"kafka:{where}",
        received_at=content.received_at.isoformat(),
        reason=INTERNAL_ERROR,
        errors=(("", f"the hub could not read this record: {type(exc).__name__}: {exc}"[:500]),),
        original=original,
    )


def failed(topic: str, partition: int, v: Version, reason: str, org: str | None) -> DeadLetter:
    """Return the letter of a version the planner could not apply (a poison record)."""
    return DeadLetter(
        id=f"{topic}:{partition}:{v.order}",
        feed=v.feed.name,
        org=org,
        source=f"kafka:{topic}:{partition}",
        received_at=datetime.fromtimestamp(v.received_at_ms / 1000, tz=UTC).isoformat(),
        reason=INTERNAL_ERROR,
        errors=(("", f"the hub could not apply this record: {reason}"),),
        original=dict(v.canonical),
        key=v.key,
    )


def replay(topic: str, partition: int, offset: int, v: Version, now_ms: int) -> DeadLetter:
    """Return the letter of a signed envelope refused as a replay (`hub.domain.plan.replayed`)."""
    accepted = datetime.fromtimestamp(v.received_at_ms / 1000, tz=UTC)
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    days = version_kept_ms(v.feed) // DAY_MS
    return DeadLetter(
        id=f"{topic}:{partition}:{offset}",
        feed=v.feed.name,
        org=None,  # the organisation did nothing wrong: its rejection list is not for this
        source=f"kafka:{topic}:{partition}",
        received_at=accepted.isoformat(),
        reason=REPLAYED,
        errors=(
            (
                "received_at",
                f"this envelope was accepted by the API at {accepted:%Y-%m-%d %H:%M:%S}Z, "
                f"{days} days or more before it reached a worker ({now:%Y-%m-%d %H:%M:%S}Z); by "
                "then its entity's stored version may have expired and it would count again, so "
                "it is refused as a replay (a signed envelope written to the log again). If "
                "workers really were stopped that long, `hub rebuild` counts it.",
            ),
        ),
        original=dict(v.canonical),
        key=v.key,
    )
