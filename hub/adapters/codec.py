"""JSON on the wire: feed envelopes, bare records from trusts' own producers, dead letters.

The only module that knows how records are laid out in Kafka messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import orjson

from hub.adapters.signing import EnvelopeSigner
from hub.domain.envelope import Envelope, Undecodable
from hub.domain.feeds import Feed
from hub.ports import DeadLetter

ENVELOPE_VERSION = 1


def dumps(value: Any) -> bytes:
    """Encode JSON with sorted keys, so equal values give equal bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def encode_body(value: Any) -> bytes:
    """Encode a response body once for every reader (keys in the order the body was built)."""
    return orjson.dumps(value)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def encode_envelope(
    feed: Feed,
    record: Mapping[str, Any],
    received_at: datetime,
    submitter_org: str,
    submission_id: str,
    index: int,
) -> bytes:
    """Wrap a validated record as the hub writes it to its feed topic."""
    return dumps(
        {
            "hub": ENVELOPE_VERSION,
            "feed": feed.name,
            "received_at": received_at.isoformat(),
            "submitter_org": submitter_org,
            "submission_id": submission_id,
            "index": index,
            "record": record,
        }
    )


def decode_message(
    feed: Feed,
    value: bytes | None,
    timestamp_ms: int,
    headers: Sequence[tuple[str, bytes]] = (),
    signer: EnvelopeSigner | None = None,
) -> Envelope | Undecodable:
    """Read a feed-topic message: a signed envelope from the API, or a bare record.

    An envelope whose signature `signer` verifies is trusted (see `hub.adapters.signing`);
    one unsigned or badly signed is read as the bare record it carries, with no
    organisation claimed and the broker's timestamp as when it was received.
    """
    stamped = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    if value is None:
        return Undecodable(feed, "empty message (a tombstone is not a record)", "", stamped)
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return Undecodable(feed, f"not valid JSON: {exc}", _text(value), stamped)
    if not isinstance(doc, dict):
        return Undecodable(feed, "a record must be a JSON object", _text(value), stamped)
    if doc.get("hub") == ENVELOPE_VERSION:
        if signer is None or not signer.verifies(value, headers):
            problem = _envelope_problem(doc)
            if problem is not None:
                return Undecodable(
                    feed, f"malformed hub envelope: {problem}", _text(value), stamped
                )
            return Envelope(feed=feed, record=doc["record"], received_at=stamped, source="kafka")
        # Signed by the API, which wrote it well formed: no need to check its shape again.
        return Envelope(
            feed=feed,
            record=doc["record"],
            received_at=datetime.fromisoformat(doc["received_at"]),
            source="api",
            submitter_org=doc.get("submitter_org"),
            submission_id=doc.get("submission_id"),
            index=doc.get("index"),
            trusted=True,
        )
    return Envelope(feed=feed, record=doc, received_at=stamped, source="kafka")


def _envelope_problem(doc: dict[str, Any]) -> str | None:
    """Return what is wrong with a hub envelope, or None.

    No feed has a field called `hub`, so a message carrying it was meant as an
    envelope; a broken one is a poison message, not a bare record to validate.
    A naive `received_at` is refused here because validation cannot judge it.
    """
    if not isinstance(doc.get("record"), dict):
        return "record must be a JSON object"
    try:
        received = datetime.fromisoformat(doc["received_at"])
    except (KeyError, TypeError, ValueError) as exc:
        return f"received_at: {exc!r}"
    if received.utcoffset() is None:
        return "received_at has no UTC offset"
    for name in ("submitter_org", "submission_id"):
        if not isinstance(doc.get(name, ""), str | None):
            return f"{name} must be a string"
    index = doc.get("index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        return "index must be an integer"
    return None


ORIGINAL_LIMIT = 10_000  # characters of a rejected record kept in its dead letter


def dead_letter_doc(letter: DeadLetter) -> dict[str, Any]:
    """Return a dead letter as JSON-ready data, cutting a huge original down to size.

    A rejected record can be arbitrarily large (an unknown field of a megabyte); kept whole it
    would exceed Kafka's message size and the letter could never be written.
    """
    doc = asdict(letter)
    text = orjson.dumps(letter.original, default=str).decode()
    if len(text) > ORIGINAL_LIMIT:
        doc["original"] = {"truncated": True, "size": len(text), "start": text[:ORIGINAL_LIMIT]}
    return doc


def encode_dead_letter(letter: DeadLetter) -> bytes:
    return dumps(dead_letter_doc(letter))


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")[:10_000]
